/**
 * `mcp-warden sessions list|revoke`: the operator's view of the state the running service
 * judges with. With `--redis URL` the CLI reads and writes Redis directly (the same flags as
 * `mcp-warden authz`); with `--admin http://HOST:PORT` it talks to a running service's admin
 * endpoints (the metrics listener), served by `createSessionsAdminHandler`, whatever store
 * that service runs with (the only way to reach an in-memory store).
 *
 * The admin endpoints answer loopback clients only (`kubectl exec` / `port-forward` arrive
 * there), unless MCP_WARDEN_ADMIN_TOKEN is set: then any client presenting it as a bearer
 * token is served, and no other.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { suspensionRule } from '../stages/session.js';
import { createStoreFromOptions } from '../state/create-store.js';
import type { PrincipalRevocation, SessionFilter, SessionRecord, StateStore } from '../state/store.js';
import { parseDuration } from './duration.js';

export const DEFAULT_REVOKE_FOR = '24h';
const MAX_BODY = 4_096;

type AdminHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1' || (address?.startsWith('127.') ?? false);
}

function authorised(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined || token === '') return isLoopback(req.socket.remoteAddress);
  const given = Buffer.from(req.headers.authorization ?? '');
  const wanted = Buffer.from(`Bearer ${token}`);
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = '';
  for await (const chunk of req) {
    text += String(chunk);
    if (text.length > MAX_BODY) throw new Error('body too large');
  }
  const value: unknown = text === '' ? {} : JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('body must be a JSON object');
  return value as Record<string, unknown>;
}

function filterOf(session: unknown, principal: unknown): SessionFilter {
  return {
    ...(typeof session === 'string' && session !== '' ? { ref: session } : {}),
    ...(typeof principal === 'string' && principal !== '' ? { principal } : {}),
  };
}

/** GET /sessions[?session=REF&principal=P] and POST /sessions/revoke {session|principal, for}. */
export function createSessionsAdminHandler(store: StateStore, options: { token?: string; clock?: () => number } = {}): AdminHandler {
  const token = options.token ?? process.env.MCP_WARDEN_ADMIN_TOKEN;
  const clock = options.clock ?? Date.now;
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (url.pathname !== '/sessions' && url.pathname !== '/sessions/revoke') return false;
    if (!authorised(req, token)) {
      send(res, 403, { error: 'sessions admin: loopback clients only, or set MCP_WARDEN_ADMIN_TOKEN and send it as a bearer token' });
      return true;
    }
    const run = async (): Promise<void> => {
      if (url.pathname === '/sessions' && req.method === 'GET') {
        const now = clock();
        const filter = filterOf(url.searchParams.get('session'), url.searchParams.get('principal'));
        const [sessions, revokedPrincipals] = await Promise.all([store.list(filter, now), store.listRevokedPrincipals(now)]);
        send(res, 200, {
          store: store.kind,
          sessions,
          revokedPrincipals: filter.principal === undefined ? revokedPrincipals : revokedPrincipals.filter((r) => r.principal === filter.principal),
        });
        return;
      }
      if (url.pathname === '/sessions/revoke' && req.method === 'POST') {
        const body = await readJson(req);
        const filter = filterOf(body.session, body.principal);
        if (filter.ref === undefined && filter.principal === undefined) {
          send(res, 400, { error: 'give "session" (a reference from GET /sessions) or "principal"' });
          return;
        }
        const forMs = parseDuration(typeof body.for === 'string' ? body.for : DEFAULT_REVOKE_FOR, 'for');
        const now = clock();
        const revoked = await store.revoke(filter, forMs, now);
        send(res, 200, { revoked, ...(filter.principal !== undefined ? { principalUntil: now + forMs } : {}) });
        return;
      }
      res.writeHead(405, { allow: url.pathname === '/sessions' ? 'GET' : 'POST', 'content-type': 'text/plain' }).end('method not allowed\n');
    };
    run().catch((err: unknown) => send(res, 400, { error: err instanceof Error ? err.message : String(err) }));
    return true;
  };
}

/** Where the CLI finds the sessions: Redis directly, or the service's admin endpoints. */
interface SessionsListing {
  readonly sessions: SessionRecord[];
  readonly revokedPrincipals: PrincipalRevocation[];
}

interface SessionsBackend {
  list(filter: SessionFilter): Promise<SessionsListing>;
  /** Sessions revoked, and until when a principal is refused (when revoking one). */
  revoke(filter: SessionFilter, forText: string): Promise<{ revoked: number; principalUntil?: number }>;
  close(): Promise<void>;
}

function adminBackend(base: string): SessionsBackend {
  const token = process.env.MCP_WARDEN_ADMIN_TOKEN;
  const headers: Record<string, string> = token !== undefined && token !== '' ? { authorization: `Bearer ${token}` } : {};
  const call = async (path: string, init: RequestInit = {}): Promise<Record<string, unknown>> => {
    const res = await fetch(new URL(path, base), { ...init, headers: { ...headers, ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}) } });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${base}${path}: ${res.status} ${String(body.error ?? '')}`);
    return body;
  };
  return {
    async list(filter) {
      const q = new URLSearchParams({ ...(filter.ref !== undefined ? { session: filter.ref } : {}), ...(filter.principal !== undefined ? { principal: filter.principal } : {}) });
      const body = await call(`/sessions${q.size > 0 ? `?${q.toString()}` : ''}`);
      return { sessions: body.sessions as SessionRecord[], revokedPrincipals: (body.revokedPrincipals ?? []) as PrincipalRevocation[] };
    },
    async revoke(filter, forText) {
      const body = await call('/sessions/revoke', { method: 'POST', body: JSON.stringify({ session: filter.ref, principal: filter.principal, for: forText }) });
      return { revoked: Number(body.revoked), ...(typeof body.principalUntil === 'number' ? { principalUntil: body.principalUntil } : {}) };
    },
    close: async () => undefined,
  };
}

function storeBackend(store: StateStore): SessionsBackend {
  return {
    async list(filter) {
      const now = Date.now();
      const [sessions, revoked] = await Promise.all([store.list(filter, now), store.listRevokedPrincipals(now)]);
      return { sessions, revokedPrincipals: filter.principal === undefined ? revoked : revoked.filter((r) => r.principal === filter.principal) };
    },
    async revoke(filter, forText) {
      const forMs = parseDuration(forText, '--for');
      const now = Date.now();
      const revoked = await store.revoke(filter, forMs, now);
      return { revoked, ...(filter.principal !== undefined ? { principalUntil: now + forMs } : {}) };
    },
    close: () => store.close(),
  };
}

const OPTIONS = {
  redis: { type: 'string' },
  'redis-password': { type: 'string' },
  'redis-password-file': { type: 'string' },
  'redis-tls': { type: 'boolean' },
  'redis-tls-ca': { type: 'string' },
  'redis-cluster': { type: 'boolean' },
  admin: { type: 'string' },
  session: { type: 'string' },
  principal: { type: 'string' },
  for: { type: 'string' },
  output: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const USAGE = `usage:
  mcp-warden sessions list   [--session REF | --principal P] [--output table|json] (--admin URL | --redis URL ...)
  mcp-warden sessions revoke (--session REF | --principal P) [--for ${DEFAULT_REVOKE_FOR}] (--admin URL | --redis URL ...)
  --admin URL    a running service's metrics listener, e.g. http://127.0.0.1:9464; works with
                 any store the service runs with (memory or Redis), and is the only way to
                 reach an in-memory store (MCP_WARDEN_ADMIN_TOKEN: bearer token, if the service has one)
  --redis URL    the service's Redis directly (redis:// or rediss://; also MCP_WARDEN_REDIS_URL),
                 with the flags of 'mcp-warden authz': --redis-password-file F (or
                 MCP_WARDEN_REDIS_PASSWORD), --redis-tls, --redis-tls-ca F, --redis-cluster
  --for D        how long a revocation holds (default ${DEFAULT_REVOKE_FOR}); revoking a principal also
                 refuses the sessions it starts during that time
  REF is the session reference shown by 'sessions list' and in security events (m.…, p.…, a.…).
`;

interface BackendFlags {
  redis?: string;
  admin?: string;
  'redis-password'?: string;
  'redis-password-file'?: string;
  'redis-tls'?: boolean;
  'redis-tls-ca'?: string;
  'redis-cluster'?: boolean;
}

async function openBackend(values: BackendFlags): Promise<SessionsBackend> {
  const redisUrl = values.redis ?? process.env.MCP_WARDEN_REDIS_URL;
  if (values.admin !== undefined) return adminBackend(values.admin);
  if (redisUrl === undefined || redisUrl === '') throw new UsageError('give --admin URL (a running service, any store) or --redis URL (its Redis)');
  // As `mcp-warden authz` reads it: a file (kept out of the process list), else the environment.
  const password =
    values['redis-password-file'] !== undefined
      ? (await readFile(values['redis-password-file'], 'utf8')).trim()
      : (values['redis-password'] ?? process.env.MCP_WARDEN_REDIS_PASSWORD);
  const store = await createStoreFromOptions({
    redisUrl,
    ...(password !== undefined && password !== '' ? { redisPassword: password } : {}),
    ...(values['redis-tls'] === true ? { redisTls: true } : {}),
    ...(values['redis-tls-ca'] !== undefined ? { redisTlsCaFile: values['redis-tls-ca'] } : {}),
    ...(values['redis-cluster'] === true ? { redisCluster: true } : {}),
    redisCommandTimeoutMs: 5_000,
    redisConnectWaitMs: 5_000,
  });
  return storeBackend(store);
}

class UsageError extends Error {}

function iso(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

function state(s: SessionRecord): string {
  if (s.revoked) return 'revoked';
  // The store keeps internal counter ids (`loop0.3f9c…`); operators read the rule's name.
  if (s.suspendedUntil > 0) return `suspended until ${iso(s.suspendedUntil)} (${suspensionRule(s.suspendReason)})`;
  return 'active';
}

/** Labels and principals come from clients: no control characters reach the terminal. */
function clean(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')).join('\n') + '\n';
}

export function formatSessionsTable(sessions: readonly SessionRecord[], revokedPrincipals: readonly PrincipalRevocation[] = []): string {
  const rows = [['SESSION', 'KIND', 'POLICY', 'CLIENT', 'PRINCIPAL', 'CREATED', 'LAST SEEN', 'REQUESTS', 'STATE']];
  for (const s of [...sessions].sort((a, b) => b.lastSeenAt - a.lastSeenAt)) {
    // Mcp-Session-Id sessions: the id's prefix, then where the session started and with what.
    const client = s.client === undefined || s.client === '' ? s.label : `${s.label} ${s.client}`;
    rows.push([s.ref, s.kind, s.policy, clean(client), clean(s.principal === '' ? '-' : s.principal), iso(s.createdAt), iso(s.lastSeenAt), String(s.requests), clean(state(s))]);
  }
  let out = table(rows);
  if (revokedPrincipals.length > 0) {
    const revoked = [['REVOKED PRINCIPAL', 'UNTIL']];
    for (const r of revokedPrincipals) revoked.push([clean(r.principal), iso(r.until)]);
    out += `\n${table(revoked)}`;
  }
  return out;
}

async function run(argv: string[], action: 'list' | 'revoke'): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: false }));
  } catch (err) {
    process.stderr.write(`mcp-warden sessions ${action}: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    return 0;
  }
  const filter = filterOf(values.session, values.principal);
  let backend: SessionsBackend | undefined;
  try {
    if (action === 'revoke' && filter.ref === undefined && filter.principal === undefined) throw new UsageError('revoke needs --session REF or --principal P');
    backend = await openBackend(values);
    if (action === 'list') {
      const { sessions, revokedPrincipals } = await backend.list(filter);
      if (values.output === 'json') {
        for (const s of sessions) process.stdout.write(`${JSON.stringify(s)}\n`);
        for (const r of revokedPrincipals) process.stdout.write(`${JSON.stringify({ revokedPrincipal: r.principal, until: r.until })}\n`);
      } else {
        process.stdout.write(formatSessionsTable(sessions, revokedPrincipals));
      }
      return 0;
    }
    const { revoked: n, principalUntil } = await backend.revoke(filter, values.for ?? DEFAULT_REVOKE_FOR);
    process.stdout.write(`revoked ${n} session${n === 1 ? '' : 's'}\n`);
    if (principalUntil !== undefined) process.stdout.write(`principal ${clean(filter.principal ?? '')} refused until ${iso(principalUntil)}, new sessions included\n`);
    // A revoked principal is in force even with no session yet; a session ref that matched nothing is a mistake.
    return n > 0 || principalUntil !== undefined ? 0 : 1;
  } catch (err) {
    process.stderr.write(`mcp-warden sessions ${action}: ${err instanceof Error ? err.message : String(err)}\n`);
    if (err instanceof UsageError) process.stderr.write(USAGE);
    return 2;
  } finally {
    await backend?.close();
  }
}

export const runSessionsListCommand = (argv: string[]): Promise<number> => run(argv, 'list');
export const runSessionsRevokeCommand = (argv: string[]): Promise<number> => run(argv, 'revoke');
