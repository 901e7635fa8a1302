/**
 * Who a request belongs to, for session integrity and behaviour (ARCHITECTURE.md "MCP protocol
 * eras"): the `Mcp-Session-Id` where the revision has one; otherwise the verified principal
 * (JWT subject + client id, or the client certificate's identity); otherwise the client
 * address + user agent. The reference (`m.…`, `p.…`, `a.…`) is a digest, so logs, keys and
 * `sessions list` never carry the session id itself (a bearer secret in MCP).
 */
import type { BlockList } from 'node:net';
import type { CheckContext } from '../pipeline/context.js';
import { clientAddress, compileTrustedProxies } from './address.js';
import { refHash } from './hash.js';
import type { SessionKind } from '../state/store.js';

/** The stateless revision: no handshake, no `Mcp-Session-Id`. */
export const STATELESS_REVISION = '2026-07-28';

export interface SessionIdentity {
  readonly kind: SessionKind;
  /** Store key and the `sessionId` of verdicts and `sessions revoke --session`. */
  readonly ref: string;
  /** Non-secret description for `sessions list`. */
  readonly label: string;
  /** Verified principal ('' when anonymous). */
  readonly principal: string;
  /** The client address as believed (trusted proxies honoured). */
  readonly address: string;
  readonly userAgent: string;
}

const trustedByServer = new WeakMap<object, BlockList | undefined>();

function trustedProxies(ctx: CheckContext): BlockList | undefined {
  const spec = ctx.server.resource.spec;
  if (trustedByServer.has(spec)) return trustedByServer.get(spec);
  const list = spec.trustedProxies !== undefined && spec.trustedProxies.length > 0 ? compileTrustedProxies(spec.trustedProxies) : undefined;
  trustedByServer.set(spec, list);
  return list;
}

export function requestClientAddress(ctx: CheckContext): string {
  return clientAddress(ctx.request.source.address, ctx.request.headers['x-forwarded-for'], trustedProxies(ctx));
}

function claimString(claims: Readonly<Record<string, unknown>> | undefined, name: string): string {
  const value = claims?.[name];
  return typeof value === 'string' ? value : '';
}

/** Verified principal and the client it acts through (JWT `azp`/`client_id`), when known. */
export function requestPrincipal(ctx: CheckContext): { principal: string; client: string; issuer: string } {
  const claims = ctx.request.claims;
  const sub = claimString(claims, 'sub');
  if (sub !== '') {
    const client = claimString(claims, 'client_id') || claimString(claims, 'azp');
    return { principal: sub, client, issuer: claimString(claims, 'iss') };
  }
  const cert = ctx.request.source.principal ?? '';
  return { principal: cert, client: '', issuer: cert === '' ? '' : 'x509' };
}

/** Labels end up in terminals (`sessions list`): no control characters from client input. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

export function sessionIdentity(ctx: CheckContext): SessionIdentity {
  const server = ctx.server.key;
  const address = requestClientAddress(ctx);
  const userAgent = ctx.request.headers['user-agent'] ?? '';
  const { principal, client, issuer } = requestPrincipal(ctx);
  const sessionHeader = (ctx.request.headers['mcp-session-id'] ?? '').trim();
  // The stateless revision has no sessions; a header sent anyway is not an identity there
  // (a client could otherwise shed its history by inventing ids).
  if (sessionHeader !== '' && ctx.protocolVersion !== STATELESS_REVISION) {
    return {
      kind: 'mcp',
      ref: `m.${refHash(server, 'mcp', sessionHeader)}`,
      // The kind says it is an Mcp-Session-Id; a short prefix is enough to tell sessions apart.
      label: printable(`${sessionHeader.slice(0, 6)}...`),
      principal,
      address,
      userAgent,
    };
  }
  if (principal !== '') {
    return {
      kind: 'principal',
      ref: `p.${refHash(server, 'principal', issuer, principal, client)}`,
      label: printable(client === '' ? principal : `${principal} via ${client}`).slice(0, 128),
      principal,
      address,
      userAgent,
    };
  }
  return {
    kind: 'peer',
    ref: `a.${refHash(server, 'peer', address, userAgent)}`,
    label: printable(`${address} ${userAgent.slice(0, 48)}`.trim()),
    principal: '',
    address,
    userAgent,
  };
}

/** The scope of `scope: principal` behaviour rules (all clients and sessions of one principal). */
export function principalRef(ctx: CheckContext, who: { principal: string; issuer: string }): string {
  return `p.${refHash(ctx.server.key, 'principal-scope', who.issuer, who.principal)}`;
}
