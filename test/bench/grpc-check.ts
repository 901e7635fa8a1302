/**
 * Benchmark (not a test): drives envoy.service.auth.v3.Authorization/Check over real gRPC
 * with Envoy-shaped CheckRequests carrying a ~2 KB tools/call body, and reports achieved
 * rate and latency. Two modes: a fixed open-loop rate (latency is measured from each
 * request's scheduled send time, so a stalled server cannot hide its queueing delay), and
 * max throughput with a fixed number of requests in flight.
 *
 * The server runs in a child process by default (its own core, as in production), with
 * `decide` from --decide-module; or in-process with any `decide` via runGrpcCheckBench.
 * The load generator is by default a lean gRPC client on node:http2 with pre-encoded
 * requests (like h2load/ghz), so the numbers describe the server rather than the client;
 * `--client grpc-js` uses a full @grpc/grpc-js client instead.
 *
 * Run: node --import tsx test/bench/grpc-check.ts [--rate 2000] [--duration 10] [--max]
 *        [--concurrency 64] [--in-process] [--decide-module PATH] [--target HOST:PORT]
 *        [--client http2|grpc-js] [--floor]
 * `--floor` runs grpc-floor-server.ts instead (bare node:http2, no grpc-js, no engine): the
 * latency this machine gives any Node HTTP/2 server at the rate, for comparison.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAuthzServer, type AuthzServer, type Decide } from '../../authz/envoy/server.js';
import { createLogger } from '../../authz/telemetry/logger.js';
import { createMetrics } from '../../authz/telemetry/metrics.js';
import { loadProtos } from '../../authz/envoy/proto.js';
import { connectCheckClient, type CheckClient, type DecodedCheckResponse } from '../grpc/check-client.js';
import { decide as parseAndAllow } from './grpc-check-decide.js';
import { toolsCallBody } from './tools-call-body.js';

export interface GrpcCheckBenchOptions {
  /** Requests per second in fixed-rate mode; ignored when `max` is true. Default 2000. */
  readonly rate?: number;
  readonly durationSeconds?: number;
  /** Max-throughput mode: keep `concurrency` checks in flight as fast as they complete. */
  readonly max?: boolean;
  readonly concurrency?: number;
  /** Where the server comes from, in this order: an existing address, an in-process decide, a child process. */
  readonly target?: string;
  readonly decide?: Decide;
  /** Module exporting `decide` or `createDecide()`, for the child-process server. */
  readonly decideModule?: string;
  /** Child process runs grpc-floor-server.ts (bare node:http2, no grpc-js, no engine) instead. */
  readonly floor?: boolean;
  /** Approximate body size in bytes. Default 2048. */
  readonly bodyBytes?: number;
  /** Load generator: raw HTTP/2 gRPC framing (default) or @grpc/grpc-js. */
  readonly client?: 'http2' | 'grpc-js';
}

export interface GrpcCheckBenchResult {
  readonly mode: 'rate' | 'max';
  readonly server: 'target' | 'in-process' | 'child-process';
  readonly client: 'http2' | 'grpc-js';
  readonly targetRate: number | undefined;
  readonly durationSeconds: number;
  readonly bodyBytes: number;
  readonly completed: number;
  readonly errors: number;
  readonly allowed: number;
  readonly denied: number;
  readonly achievedPerSecond: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Send-to-response percentiles, without time spent waiting to be sent. */
  readonly serviceP50Ms: number;
  readonly serviceP99Ms: number;
  /** CPU time of the child-process server per completed check (Linux /proc), when known. */
  readonly serverCpuUsPerCheck: number | undefined;
  /** 1-minute load average at the start and the end of the run (the machine may be shared). */
  readonly loadAverage: readonly [number, number];
}

export { BENCH_SQL, toolsCallBody } from './tools-call-body.js';

function envoyCheckRequest(body: Buffer, n: number): object {
  return {
    attributes: {
      source: { address: { socket_address: { address: '10.0.3.17', port_value: 41000 + (n % 1000) } } },
      destination: { address: { socket_address: { address: '10.0.9.9', port_value: 15080 } } },
      request: {
        time: { seconds: Math.floor(Date.now() / 1000), nanos: 0 },
        http: {
          id: `bench-${n}`,
          method: 'POST',
          path: '/mcp',
          host: 'files.demo.svc:15080',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          size: body.length,
          headers: {
            ':authority': 'files.demo.svc:15080',
            ':method': 'POST',
            ':path': '/mcp',
            accept: 'application/json, text/event-stream',
            'content-type': 'application/json',
            'content-length': String(body.length),
            'mcp-protocol-version': '2025-06-18',
            'mcp-session-id': 'bench-session-1',
            'user-agent': 'mcp-bench/1.0',
            'x-request-id': `bench-${n}`,
            'x-forwarded-proto': 'http',
          },
          raw_body: body,
        },
      },
      context_extensions: { 'mcpwarden.io/server': 'demo/files' },
    },
  };
}

/** Sends one Check and resolves with the CheckResponse's status code (0 allow, 7 deny). */
interface LoadClient {
  check(): Promise<number>;
  close(): void;
}

function grpcJsClient(address: string, body: Buffer): LoadClient {
  const client: CheckClient = connectCheckClient(address);
  let n = 0;
  return {
    check: async () => (await client.check(envoyCheckRequest(body, n++), 10_000)).status.code,
    close: () => client.close(),
  };
}

const CHECK_PATH = '/envoy.service.auth.v3.Authorization/Check';

/** gRPC over HTTP/2 by hand (length-prefixed messages, grpc-status trailer), requests pre-encoded. */
function http2Client(address: string, body: Buffer): LoadClient {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  const port = address.slice(colon + 1);
  const method = loadProtos().authorizationService['Check'];
  if (method === undefined) throw new Error('Check method missing');
  const frames = Array.from({ length: 1024 }, (_, i) => {
    const message = method.requestSerialize(envoyCheckRequest(body, i));
    const frame = Buffer.allocUnsafe(5 + message.length);
    frame.writeUInt8(0, 0);
    frame.writeUInt32BE(message.length, 1);
    message.copy(frame, 5);
    return frame;
  });
  let closing = false;
  let session = connect();
  function connect(): http2.ClientHttp2Session {
    // Envoy sets TCP_NODELAY on its gRPC connections; so does this client.
    const s = http2.connect(`http://${address}`, { createConnection: () => net.connect({ host, port: Number(port), noDelay: true }) });
    // A dropped connection fails the calls in flight (counted as errors); the next call reconnects.
    s.on('error', (err: Error) => process.stderr.write(`grpc-check: connection error: ${err.message}\n`));
    s.on('close', () => {
      if (session === s && !closing) session = connect();
    });
    return s;
  }
  let n = 0;
  return {
    check: () =>
      new Promise<number>((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': CHECK_PATH, 'content-type': 'application/grpc', te: 'trailers' });
        const chunks: Buffer[] = [];
        let grpcStatus: string | undefined;
        stream.on('response', (headers) => {
          // Trailers-only responses carry grpc-status in the headers.
          const status = headers['grpc-status'];
          if (typeof status === 'string') grpcStatus = status;
        });
        stream.on('trailers', (trailers) => {
          const status = trailers['grpc-status'];
          if (typeof status === 'string') grpcStatus = status;
        });
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('error', reject);
        stream.on('close', () => {
          if (grpcStatus !== '0') {
            reject(new Error(`grpc-status ${grpcStatus ?? 'missing'}`));
            return;
          }
          const payload = Buffer.concat(chunks);
          const response = method.responseDeserialize(payload.subarray(5)) as DecodedCheckResponse;
          resolve(response.status.code);
        });
        stream.end(frames[n++ % frames.length]);
      }),
    close: () => {
      closing = true;
      session.close();
    },
  };
}

interface ServerHandle {
  readonly address: string;
  readonly kind: GrpcCheckBenchResult['server'];
  /** Process id of a child-process server. */
  readonly pid?: number | undefined;
  close(): Promise<void>;
}

/** User + system CPU seconds of a process from /proc/PID/stat (Linux; 100 ticks per second). */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields 14 and 15 of stat(5); fields[0] here is field 3 (state).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

async function startServer(options: GrpcCheckBenchOptions): Promise<ServerHandle> {
  if (options.target !== undefined) return { address: options.target, kind: 'target', close: async () => undefined };
  if (options.decide !== undefined) {
    const server: AuthzServer = await startAuthzServer({
      listen: '127.0.0.1:0',
      decide: options.decide,
      logger: createLogger({ level: 'error' }),
      metrics: createMetrics({ processMetrics: false }),
    });
    return { address: `127.0.0.1:${server.port}`, kind: 'in-process', close: () => server.close(1_000) };
  }
  const script = fileURLToPath(new URL(options.floor === true ? './grpc-floor-server.ts' : './grpc-check-server.ts', import.meta.url));
  const args = ['--import', 'tsx', script, ...(options.decideModule !== undefined && options.floor !== true ? ['--decide-module', options.decideModule] : [])];
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m !== null) resolve(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`benchmark server exited with ${code}`)));
  });
  return {
    address: `127.0.0.1:${port}`,
    kind: 'child-process',
    pid: child.pid,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export async function runGrpcCheckBench(options: GrpcCheckBenchOptions = {}): Promise<GrpcCheckBenchResult> {
  const durationSeconds = options.durationSeconds ?? 10;
  const rate = options.rate ?? 2_000;
  const bodyBytes = options.bodyBytes ?? 2_048;
  const body = toolsCallBody(bodyBytes);
  const server = await startServer(options);
  const clientKind = options.client ?? 'http2';
  const client = clientKind === 'grpc-js' ? grpcJsClient(server.address, body) : http2Client(server.address, body);
  /** From the scheduled send time (includes any wait before sending: coordinated omission). */
  const latencies: number[] = [];
  /** From the actual send to the response (what one call costs once sent). */
  const serviceTimes: number[] = [];
  let errors = 0;
  let allowed = 0;
  let denied = 0;

  const send = async (scheduledAt: number): Promise<void> => {
    const sentAt = performance.now();
    try {
      if ((await client.check()) === 0) allowed++;
      else denied++;
    } catch {
      errors++;
    }
    const done = performance.now();
    latencies.push(done - scheduledAt);
    serviceTimes.push(done - sentAt);
  };

  try {
    // Warm up the channel, the JIT and the server.
    for (let i = 0; i < 200; i++) await send(performance.now());
    latencies.length = 0;
    serviceTimes.length = 0;
    errors = allowed = denied = 0;

    const loadAtStart = loadavg()[0] ?? NaN;
    const cpuAtStart = processCpuSeconds(server.pid);
    const started = performance.now();
    const endAt = started + durationSeconds * 1000;
    if (options.max === true) {
      const workers = Array.from({ length: options.concurrency ?? 64 }, async () => {
        while (performance.now() < endAt) await send(performance.now());
      });
      await Promise.all(workers);
    } else {
      const intervalMs = 1000 / rate;
      const inFlight: Array<Promise<void>> = [];
      let scheduled = 0;
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const now = performance.now();
          const due = Math.min(Math.floor((Math.min(now, endAt) - started) / intervalMs) + 1, Math.ceil(durationSeconds * rate));
          while (scheduled < due) inFlight.push(send(started + scheduled++ * intervalMs));
          if (now >= endAt) resolve();
          else setTimeout(tick, 1);
        };
        tick();
      });
      await Promise.all(inFlight);
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    const cpuAtEnd = processCpuSeconds(server.pid);
    const serverCpuUs = cpuAtStart !== undefined && cpuAtEnd !== undefined && latencies.length > 0 ? ((cpuAtEnd - cpuAtStart) * 1e6) / latencies.length : undefined;
    const sorted = Float64Array.from(latencies).sort();
    const service = Float64Array.from(serviceTimes).sort();
    return {
      mode: options.max === true ? 'max' : 'rate',
      server: server.kind,
      client: clientKind,
      targetRate: options.max === true ? undefined : rate,
      durationSeconds: Number(elapsedSeconds.toFixed(2)),
      bodyBytes: body.length,
      completed: latencies.length,
      errors,
      allowed,
      denied,
      achievedPerSecond: Math.round(latencies.length / elapsedSeconds),
      p50Ms: Number(percentile(sorted, 50).toFixed(3)),
      p90Ms: Number(percentile(sorted, 90).toFixed(3)),
      p99Ms: Number(percentile(sorted, 99).toFixed(3)),
      maxMs: Number((sorted[sorted.length - 1] ?? NaN).toFixed(3)),
      serviceP50Ms: Number(percentile(service, 50).toFixed(3)),
      serviceP99Ms: Number(percentile(service, 99).toFixed(3)),
      serverCpuUsPerCheck: serverCpuUs === undefined ? undefined : Math.round(serverCpuUs),
      loadAverage: [Number(loadAtStart.toFixed(2)), Number((loadavg()[0] ?? NaN).toFixed(2))],
    };
  } finally {
    client.close();
    await server.close();
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '2000' },
      duration: { type: 'string', default: '10' },
      max: { type: 'boolean', default: false },
      concurrency: { type: 'string', default: '64' },
      'in-process': { type: 'boolean', default: false },
      'decide-module': { type: 'string' },
      floor: { type: 'boolean', default: false },
      target: { type: 'string' },
      'body-bytes': { type: 'string', default: '2048' },
      client: { type: 'string', default: 'http2' },
    },
  });
  const result = await runGrpcCheckBench({
    rate: Number(values.rate),
    durationSeconds: Number(values.duration),
    max: values.max,
    concurrency: Number(values.concurrency),
    bodyBytes: Number(values['body-bytes']),
    client: values.client === 'grpc-js' ? 'grpc-js' : 'http2',
    ...(values.target !== undefined ? { target: values.target } : {}),
    ...(values['in-process'] ? { decide: parseAndAllow } : {}),
    ...(values['decide-module'] !== undefined ? { decideModule: values['decide-module'] } : {}),
    floor: values.floor,
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
