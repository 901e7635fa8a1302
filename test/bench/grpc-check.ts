/**
 * Benchmark (not a test): drives envoy.service.auth.v3.Authorization/Check over real gRPC
 * with Envoy-shaped CheckRequests carrying a ~2 KB tools/call body, and reports achieved
 * rate and latency. Two modes: a fixed open-loop rate (latency is measured from each
 * request's scheduled send time, so a stalled server cannot hide its queueing delay), and
 * max throughput with a fixed number of requests in flight.
 *
 * The server runs in a child process by default (its own core, as in production), with
 * `decide` from --decide-module; or in-process with any `decide` via runGrpcCheckBench.
 * The load generator is by default test/loadgen, a small Go gRPC client with pre-encoded
 * requests (built on first use into .cache/bin), so the numbers describe the server rather
 * than a client's own GC pauses; `--client http2` is a lean node:http2 client and
 * `--client grpc-js` a full @grpc/grpc-js client (both needed for --max).
 *
 * Run: node --import tsx test/bench/grpc-check.ts --product test/bench/engine-config.yaml
 *   (the product as deployed: dist/cli.js authz, every stage on), or
 *      node --import tsx test/bench/grpc-check.ts [--rate 2000] [--duration 10] [--max]
 *        [--concurrency 64] [--in-process] [--decide-module PATH] [--target HOST:PORT]
 *        [--client go|go-http|http2|grpc-js] [--floor] [--dump FILE] [--pin] [--jitter] [--warmup SECONDS] [--redis]
 * `--floor` runs grpc-floor-server.ts instead (bare node:http2, no grpc-js, no engine): the
 * latency this machine gives any Node HTTP/2 server at the rate, for comparison.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startAuthzServer, type AuthzServer, type Decide } from '../../authz/envoy/server.js';
import { createLogger } from '../../authz/telemetry/logger.js';
import { createMetrics } from '../../authz/telemetry/metrics.js';
import { grpcFrame } from '../../authz/envoy/grpc-server.js';
import { loadProtos, methodOf } from '../../authz/envoy/proto.js';
import { parseListenAddress } from '../../authz/telemetry/listen-address.js';
import { freePort } from '../../authz/runtime/processes.js';
import { SERVICE_NODE_FLAGS } from '../../authz/runtime/node-flags.js';
import { startRedis } from '../support/redis.js';
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
  /**
   * Run the product itself: `node dist/cli.js authz --config <product>` (built first), every
   * stage on, logging and metrics as deployed. The headline measurement.
   */
  readonly product?: string;
  /** Approximate body size in bytes. Default 2048. */
  readonly bodyBytes?: number;
  /**
   * Load generator: `go` (test/loadgen driving HTTP/2 frames itself, one HEADERS and one DATA
   * frame per call, as Envoy's C++ client does), `go-http` (test/loadgen through Go's
   * net/http client), raw HTTP/2 gRPC framing from Node, or @grpc/grpc-js.
   */
  readonly client?: 'go' | 'go-http' | 'http2' | 'grpc-js';
  /** Go client only: write `offset-ms latency-ms service-ms` per request to this file. */
  readonly dump?: string;
  /**
   * Linux: pin the server to CPU 1 and the Go load generator to CPU 0 (taskset), as a
   * CPU-manager `static` policy would give each its own core; unpinned by default.
   */
  readonly pin?: boolean;
  /**
   * Also run `loadgen -jitter` through the run: how late this machine wakes a thread that
   * sleeps 500 µs at a time while the server is loaded (the floor under any latency here).
   */
  readonly jitter?: boolean;
  /** Go client: seconds at the rate before measuring (JIT tiers, heap sizing). Default 15. */
  readonly warmupSeconds?: number;
  /** With `product`: session and behaviour state in a redis-server started on loopback (`--redis`). */
  readonly redis?: boolean;
}

/** `loadgen -jitter`'s report (see test/loadgen/jitter.go). */
export interface WakeLateness {
  readonly wakeups: number;
  readonly lateOver1ms: number;
  readonly lateP50Ms: number;
  readonly lateP99Ms: number;
  readonly lateP999Ms: number;
  readonly lateMaxMs: number;
}

/** `command args` under `taskset -c cpu` when a CPU is given (taskset execs, so the pid is the command's). */
function onCpu(cpu: number | undefined, command: string, args: string[]): [string, string[]] {
  return cpu === undefined ? [command, args] : ['taskset', ['-c', String(cpu), command, ...args]];
}

export interface GrpcCheckBenchResult {
  readonly mode: 'rate' | 'max';
  readonly server: 'target' | 'in-process' | 'child-process' | 'product';
  readonly client: 'go' | 'go-http' | 'http2' | 'grpc-js';
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
  /** With --jitter: the machine's wake-up lateness during the run. */
  readonly wakeLateness?: WakeLateness;
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

const checkMethod = (): ReturnType<typeof methodOf> => methodOf(loadProtos().authorizationService, 'Check');

/** 1,024 distinct CheckRequests, each as a gRPC length-prefixed message. */
function encodeFrames(body: Buffer): Buffer[] {
  const method = checkMethod();
  return Array.from({ length: 1024 }, (_, i) => grpcFrame(method.requestSerialize(envoyCheckRequest(body, i))));
}

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const LOADGEN_BIN = path.join(REPO_ROOT, '.cache', 'bin', 'warden-loadgen');

/** Builds test/loadgen once (cached under .cache/bin; rebuilt when its source is newer). */
function loadgenBinary(): string {
  const source = path.join(REPO_ROOT, 'test', 'loadgen');
  const built = existsSync(LOADGEN_BIN) ? statSync(LOADGEN_BIN).mtimeMs : 0;
  const newest = Math.max(...readdirSync(source).map((f) => statSync(path.join(source, f)).mtimeMs));
  if (built < newest) execFileSync('go', ['build', '-o', LOADGEN_BIN, '.'], { cwd: source, stdio: 'inherit' });
  return LOADGEN_BIN;
}

/** One load run, by test/loadgen (its JSON field names are the bench result's) or a Node client. */
type LoadgenResult = Pick<
  GrpcCheckBenchResult,
  'durationSeconds' | 'completed' | 'errors' | 'allowed' | 'denied' | 'p50Ms' | 'p90Ms' | 'p99Ms' | 'maxMs' | 'serviceP50Ms' | 'serviceP99Ms'
> & {
  /** Every call made, warm-up included. */
  readonly totalCalls: number;
  readonly firstError?: string;
};

/** Runs the Go load generator against `address` and returns its report. */
function runGoLoadgen(address: string, body: Buffer, rate: number, durationSeconds: number, dump: string | undefined, cpu: number | undefined, frames: boolean, warmupSeconds: number): Promise<LoadgenResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'warden-loadgen-'));
  const framesFile = path.join(dir, 'frames.bin');
  writeFileSync(framesFile, Buffer.concat(encodeFrames(body)));
  const args = ['-target', address, '-path', CHECK_PATH, '-frames', framesFile, '-rate', String(rate), '-duration', `${durationSeconds}s`, ...(dump !== undefined ? ['-dump', dump] : []), ...(frames ? ['-raw'] : []), '-warmup-duration', `${warmupSeconds}s`];
  return runLoadgen<LoadgenResult>(args, cpu).finally(() => rmSync(dir, { recursive: true, force: true }));
}

/** Runs `loadgen -jitter` for `seconds` and returns its report. */
function runJitterProbe(seconds: number): Promise<WakeLateness> {
  return runLoadgen<WakeLateness>(['-jitter', `${seconds}s`], undefined);
}

/** Runs test/loadgen with `args` (on `cpu` when given) and parses the JSON it prints. */
function runLoadgen<T>(args: string[], cpu: number | undefined): Promise<T> {
  const binary = loadgenBinary();
  return new Promise<T>((resolve, reject) => {
    const child = spawn(...onCpu(cpu, binary, args), { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`loadgen ${args[0] ?? ''} exited with ${code}`))));
  });
}

/** gRPC over HTTP/2 by hand (length-prefixed messages, grpc-status trailer), requests pre-encoded. */
function http2Client(address: string, body: Buffer): LoadClient {
  const { host, port } = parseListenAddress(address, '--target');
  const method = checkMethod();
  const frames = encodeFrames(body);
  let closing = false;
  let session = connect();
  function connect(): http2.ClientHttp2Session {
    // Envoy sets TCP_NODELAY on its gRPC connections; so does this client.
    const s = http2.connect(`http://${address}`, { createConnection: () => net.connect({ host, port, noDelay: true }) });
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

/**
 * Spawns a server process and resolves once its stdout matches `ready` (group 1, when
 * present, is the port it listens on; otherwise `port`).
 */
async function spawnServer(args: string[], kind: ServerHandle['kind'], ready: RegExp, port: number, cpu: number | undefined): Promise<ServerHandle> {
  const child: ChildProcess = spawn(...onCpu(cpu, process.execPath, args), { stdio: ['pipe', 'pipe', 'inherit'] });
  const boundPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const m = ready.exec(out);
      if (m === null) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve(m[1] !== undefined ? Number(m[1]) : port);
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`benchmark server exited with ${code}: ${out.slice(-2_000)}`)));
  });
  return {
    address: `127.0.0.1:${boundPort}`,
    kind,
    pid: child.pid,
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Builds dist/ and starts `mcp-warden authz` on `config`; ready once its first config is loaded. */
async function startProduct(config: string, cpu: number | undefined, withRedis: boolean): Promise<ServerHandle> {
  execFileSync(process.execPath, [path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const port = await freePort();
  // As the image runs it: the same heap flags (authz/runtime/node-flags.ts).
  const redis = withRedis ? await startRedis() : undefined;
  const args = [...SERVICE_NODE_FLAGS, path.join(REPO_ROOT, 'dist', 'cli.js'), 'authz', '--config', path.resolve(config), '--listen', `127.0.0.1:${port}`, ...(redis !== undefined ? ['--redis', redis.url] : [])];
  const server = await spawnServer(args, 'product', /"event":"mcp-warden\.config","generation":1/, port, cpu);
  if (redis === undefined) return server;
  return {
    ...server,
    close: async () => {
      await server.close();
      await redis.close();
    },
  };
}

async function startServer(options: GrpcCheckBenchOptions): Promise<ServerHandle> {
  if (options.target !== undefined) return { address: options.target, kind: 'target', close: async () => undefined };
  const cpu = options.pin === true ? 1 : undefined;
  if (options.product !== undefined) return startProduct(options.product, cpu, options.redis === true);
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
  return spawnServer(args, 'child-process', /PORT (\d+)/, 0, cpu);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * Drives `address` with a node:http2 or grpc-js client (200 warm-up calls first) at the fixed
 * rate, or with `concurrency` calls in flight as fast as they complete (`max`).
 */
async function runNodeClient(address: string, body: Buffer, options: GrpcCheckBenchOptions, rate: number, durationSeconds: number): Promise<LoadgenResult> {
  const client = options.client === 'grpc-js' ? grpcJsClient(address, body) : http2Client(address, body);
  /** From the scheduled send time (includes any wait before sending: coordinated omission). */
  const latencies: number[] = [];
  /** From the actual send to the response (what one call costs once sent). */
  const serviceTimes: number[] = [];
  let errors = 0;
  let allowed = 0;
  let denied = 0;
  const WARM_UP_CALLS = 200;

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
    for (let i = 0; i < WARM_UP_CALLS; i++) await send(performance.now());
    latencies.length = 0;
    serviceTimes.length = 0;
    errors = allowed = denied = 0;

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
    const sorted = Float64Array.from(latencies).sort();
    const service = Float64Array.from(serviceTimes).sort();
    const ms = (v: number): number => Number(v.toFixed(3));
    return {
      durationSeconds: (performance.now() - started) / 1000,
      completed: latencies.length,
      errors,
      allowed,
      denied,
      p50Ms: ms(percentile(sorted, 50)),
      p90Ms: ms(percentile(sorted, 90)),
      p99Ms: ms(percentile(sorted, 99)),
      maxMs: ms(sorted[sorted.length - 1] ?? NaN),
      serviceP50Ms: ms(percentile(service, 50)),
      serviceP99Ms: ms(percentile(service, 99)),
      totalCalls: WARM_UP_CALLS + latencies.length,
    };
  } finally {
    client.close();
  }
}

export async function runGrpcCheckBench(options: GrpcCheckBenchOptions = {}): Promise<GrpcCheckBenchResult> {
  const durationSeconds = options.durationSeconds ?? 10;
  const rate = options.rate ?? 2_000;
  const body = toolsCallBody(options.bodyBytes ?? 2_048);
  const clientKind = options.client ?? 'go';
  const warmupSeconds = options.warmupSeconds ?? 15;
  const goClient = clientKind === 'go' || clientKind === 'go-http';
  if (goClient && options.max === true) throw new Error('--max needs --client http2 or grpc-js');
  const server = await startServer(options);
  try {
    const loadAtStart = loadavg()[0] ?? NaN;
    const cpuAtStart = processCpuSeconds(server.pid);
    // The probe covers the Go client's warm-up and its measured run.
    const probe = options.jitter === true ? runJitterProbe(durationSeconds + warmupSeconds) : undefined;
    const r =
      goClient
        ? await runGoLoadgen(server.address, body, rate, durationSeconds, options.dump, options.pin === true ? 0 : undefined, clientKind === 'go', warmupSeconds)
        : await runNodeClient(server.address, body, options, rate, durationSeconds);
    const cpuAtEnd = processCpuSeconds(server.pid);
    if (r.firstError !== undefined) process.stderr.write(`grpc-check: first error: ${r.firstError}\n`);
    const max = options.max === true;
    return {
      mode: max ? 'max' : 'rate',
      server: server.kind,
      client: clientKind,
      targetRate: max ? undefined : rate,
      durationSeconds: Number(r.durationSeconds.toFixed(2)),
      bodyBytes: body.length,
      completed: r.completed,
      errors: r.errors,
      allowed: r.allowed,
      denied: r.denied,
      achievedPerSecond: Math.round(r.completed / r.durationSeconds),
      p50Ms: r.p50Ms,
      p90Ms: r.p90Ms,
      p99Ms: r.p99Ms,
      maxMs: r.maxMs,
      serviceP50Ms: r.serviceP50Ms,
      serviceP99Ms: r.serviceP99Ms,
      // Warm-up calls ran inside the CPU window too, so they are counted.
      serverCpuUsPerCheck: cpuAtStart !== undefined && cpuAtEnd !== undefined && r.totalCalls > 0 ? Math.round(((cpuAtEnd - cpuAtStart) * 1e6) / r.totalCalls) : undefined,
      loadAverage: [Number(loadAtStart.toFixed(2)), Number((loadavg()[0] ?? NaN).toFixed(2))],
      ...(probe !== undefined ? { wakeLateness: await probe } : {}),
    };
  } finally {
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
      client: { type: 'string', default: 'go' },
      dump: { type: 'string' },
      pin: { type: 'boolean', default: false },
      jitter: { type: 'boolean', default: false },
      warmup: { type: 'string', default: '15' },
      redis: { type: 'boolean', default: false },
      product: { type: 'string' },
    },
  });
  const result = await runGrpcCheckBench({
    rate: Number(values.rate),
    durationSeconds: Number(values.duration),
    max: values.max,
    concurrency: Number(values.concurrency),
    bodyBytes: Number(values['body-bytes']),
    client: values.client === 'grpc-js' || values.client === 'http2' || values.client === 'go-http' ? values.client : 'go',
    ...(values.target !== undefined ? { target: values.target } : {}),
    ...(values['in-process'] ? { decide: parseAndAllow } : {}),
    ...(values['decide-module'] !== undefined ? { decideModule: values['decide-module'] } : {}),
    floor: values.floor,
    ...(values.dump !== undefined ? { dump: values.dump } : {}),
    pin: values.pin,
    jitter: values.jitter,
    warmupSeconds: Number(values.warmup),
    redis: values.redis,
    ...(values.product !== undefined ? { product: values.product } : {}),
  });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
