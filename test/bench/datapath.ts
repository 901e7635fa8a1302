/**
 * Data-path latency of a tools/call: the same MCP session traffic, at a fixed request rate,
 * through (a) Envoy alone (the rendered sidecar without its ext_authz filter), and (b) Envoy
 * + MCP Warden (ext_authz → the authz service, which parses and judges every body). The
 * difference is what MCP Warden adds. The three paths (plus direct to the server) run
 * interleaved so machine noise falls on all alike. Open loop: request i is sent at t0 + i/rate whether
 * or not earlier ones finished, and its latency counts from that scheduled time, so a stall
 * shows up in the tail instead of slowing the generator (no coordinated omission).
 *
 *   node --import tsx test/bench/datapath.ts [--rate 50] [--requests 1000] [--warmup 100] [--json]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JsonObject } from '../../authz/sidecar/json.js';
import { startAuthzProcess } from '../support/authz.js';
import { requireEnvoy, startEnvoy, type RunningEnvoy } from '../support/envoy.js';
import { listLiveTools, policyManifest, serverManifest, writeManifests, SAMPLE_ARGUMENT_RULES } from '../support/manifests.js';
import { startSampleServerProcess } from '../support/mcp-servers.js';
import { freePort, stopAll } from '../support/processes.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '50' },
    requests: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '100' },
    json: { type: 'boolean', default: false },
  },
});
const RATE = Number(values.rate);
const REQUESTS = Number(values.requests);
const WARMUP = Number(values.warmup);

const HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

interface Session {
  readonly url: string;
  readonly headers: Record<string, string>;
  nextId: number;
}

async function post(url: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  // Node's fetch keeps connections alive between requests, as an MCP client would.
  return fetch(url, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function openSession(url: string): Promise<Session> {
  const init = await post(url, HEADERS, {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'datapath-bench', version: '1.0.0' } },
  });
  await init.text();
  const sid = init.headers.get('mcp-session-id');
  if (!init.ok || sid === null) throw new Error(`initialize through ${url} failed: HTTP ${init.status}`);
  const headers = { ...HEADERS, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  await (await post(url, headers, { jsonrpc: '2.0', method: 'notifications/initialized' })).text();
  return { url, headers, nextId: 2 };
}

/** One tools/call; resolves with its HTTP status once the whole response has arrived. */
async function callTool(session: Session): Promise<number> {
  const id = session.nextId++;
  const response = await post(session.url, session.headers, {
    jsonrpc: '2.0',
    id,
    method: 'tools/call',
    params: { name: 'read_file', arguments: { path: 'public/readme.txt' } },
  });
  const text = await response.text();
  if (!response.ok || !text.includes('This file is public')) throw new Error(`tools/call #${id}: HTTP ${response.status}: ${text.slice(0, 300)}`);
  return response.status;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Summary {
  readonly name: string;
  readonly requests: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

function summarize(name: string, latencies: number[]): Summary {
  latencies.sort((a, b) => a - b);
  const round = (v: number): number => Math.round(v * 1000) / 1000;
  return {
    name,
    requests: latencies.length,
    p50: round(percentile(latencies, 50)),
    p90: round(percentile(latencies, 90)),
    p99: round(percentile(latencies, 99)),
    max: round(latencies[latencies.length - 1] ?? NaN),
    mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length),
  };
}

/**
 * Runs every path at `RATE` each, interleaved round-robin (slot k goes to path k mod n), so
 * whatever else the machine is doing falls on all paths alike.
 */
async function measure(paths: ReadonlyArray<{ name: string; session: Session }>): Promise<Summary[]> {
  for (const { session } of paths) for (let i = 0; i < WARMUP; i++) await callTool(session);
  const latencies = paths.map(() => [] as number[]);
  const slotMs = 1000 / (RATE * paths.length);
  const t0 = performance.now() + 10;
  const pending: Promise<void>[] = [];
  for (let k = 0; k < REQUESTS * paths.length; k++) {
    const scheduled = t0 + k * slotMs;
    const wait = scheduled - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const index = k % paths.length;
    const path = paths[index];
    if (path === undefined) continue;
    pending.push(callTool(path.session).then(() => void latencies[index]?.push(performance.now() - scheduled)));
  }
  await Promise.all(pending);
  return paths.map((p, i) => summarize(p.name, latencies[i] ?? []));
}

/** The same sidecar without ext_authz: what Envoy alone costs. */
function withoutExtAuthz(config: Parameters<NonNullable<Parameters<typeof startEnvoy>[0]['transform']>>[0]) {
  const lds = structuredClone(config.lds);
  for (const listener of lds.resources as JsonObject[]) {
    for (const chain of listener.filter_chains as JsonObject[]) {
      for (const filter of chain.filters as JsonObject[]) {
        const hcm = filter.typed_config as JsonObject;
        hcm.http_filters = (hcm.http_filters as JsonObject[]).filter((f) => f.name !== 'envoy.filters.http.ext_authz');
        for (const host of (hcm.route_config as JsonObject).virtual_hosts as JsonObject[]) {
          for (const route of host.routes as JsonObject[]) delete route.typed_per_filter_config;
        }
      }
    }
  }
  return { ...config, lds: { ...lds, version_info: `${String(lds.version_info)}-noauthz` } };
}

async function main(): Promise<void> {
  requireEnvoy();
  const work = await mkdtemp(join(tmpdir(), 'mw-bench-'));
  const envoys: RunningEnvoy[] = [];
  try {
    const upstream = await startSampleServerProcess(join(work, 'sandbox'));
    const tools = await listLiveTools(upstream.url);
    const server = serverManifest({ name: 'bench', namespace: 'bench', upstreamPort: upstream.port, listenerPort: await freePort(), tools });
    // Behaviour limits off: this measures the per-request cost, not the rate limiter.
    const policy = policyManifest({ name: 'bench-policy', namespace: 'bench', server: 'bench', tools, arguments: SAMPLE_ARGUMENT_RULES, spec: { behavior: [] } });
    const manifests = join(work, 'manifests');
    await writeManifests(manifests, 'bench.yaml', [server, policy]);
    const authz = await startAuthzProcess({ configPath: manifests });

    const protectedEnvoy = await startEnvoy({ server, authzAddress: authz.address, maxBodyBytes: 65_536, accessLog: false, dir: join(work, 'envoy-authz') });
    envoys.push(protectedEnvoy);
    const plainServer = { ...server, spec: { ...server.spec, listener: { port: await freePort() } } };
    const plainEnvoy = await startEnvoy({ server: plainServer, authzAddress: authz.address, maxBodyBytes: 65_536, accessLog: false, dir: join(work, 'envoy-plain'), transform: withoutExtAuthz });
    envoys.push(plainEnvoy);

    const results = await measure([
      { name: 'direct (no Envoy)', session: await openSession(upstream.url) },
      { name: 'Envoy alone', session: await openSession(plainEnvoy.url) },
      { name: 'Envoy + MCP Warden', session: await openSession(protectedEnvoy.url) },
    ]);
    const [, alone, warden] = results;
    const added = alone !== undefined && warden !== undefined
      ? { p50: Math.round((warden.p50 - alone.p50) * 1000) / 1000, p99: Math.round((warden.p99 - alone.p99) * 1000) / 1000 }
      : undefined;

    if (values.json) {
      process.stdout.write(`${JSON.stringify({ rate: RATE, requests: REQUESTS, results, addedByWarden: added })}\n`);
    } else {
      process.stdout.write(`tools/call read_file, ${RATE} req/s, ${REQUESTS} requests per path (after ${WARMUP} warm-up), latency in ms\n`);
      process.stdout.write(`${'path'.padEnd(22)}${'p50'.padStart(9)}${'p90'.padStart(9)}${'p99'.padStart(9)}${'max'.padStart(9)}${'mean'.padStart(9)}\n`);
      for (const r of results) {
        process.stdout.write(`${r.name.padEnd(22)}${r.p50.toFixed(2).padStart(9)}${r.p90.toFixed(2).padStart(9)}${r.p99.toFixed(2).padStart(9)}${r.max.toFixed(2).padStart(9)}${r.mean.toFixed(2).padStart(9)}\n`);
      }
      if (added !== undefined) process.stdout.write(`added by MCP Warden (Envoy + authz − Envoy alone): p50 ${added.p50.toFixed(2)} ms, p99 ${added.p99.toFixed(2)} ms\n`);
    }
  } finally {
    await stopAll();
    await rm(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`datapath bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    void stopAll().finally(() => process.exit(1));
  },
);
