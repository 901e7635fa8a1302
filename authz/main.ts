/**
 * Wires config → engine → gRPC server for `mcp-warden authz`; nothing else lives here.
 * The config is loaded and validated, compiled into a frozen snapshot, and swapped
 * atomically on every good reload; a bad edit keeps the last good snapshot and says why.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { pino, type Logger } from 'pino';
import { watchManifests, type ConfigError, type LoadResult } from './config/watch.js';
import type { ClusterLoadResult } from './config/cluster.js';
import { buildSnapshot, type InferenceNote, type SnapshotOptions } from './config/snapshot.js';
import { startAuthzServer } from './envoy/server.js';
import { createEngine } from './pipeline/decide.js';
import type { Snapshot } from './pipeline/compiled.js';
import type { WardenRequest } from './pipeline/request.js';
import type { Verdict } from './pipeline/verdict.js';
import { createMetrics, startMetricsServer, type WardenMetrics } from './telemetry/metrics.js';
import { initSqlParser } from './detectors/sql.js';
import { createStatefulChecks, createStoreFromOptions, sessionIdentity } from './stages/stateful.js';
import type { StoreOptions } from './state/create-store.js';
import { geoLookupFromOptions } from './session/geo.js';
import { createSessionsAdminHandler } from './session/sessions-command.js';

export interface AuthzOptions {
  /**
   * A YAML file or a directory of YAML files with MCPServer/MCPPolicy manifests; without it
   * the service watches MCPServer/MCPPolicy in the cluster (read-only).
   */
  readonly configPath?: string | undefined;
  /** Cluster mode: kubeconfig path (in-cluster service account when absent). */
  readonly kubeconfig?: string | undefined;
  /** Cluster mode: watch one namespace instead of all. */
  readonly namespace?: string | undefined;
  /** `host:port`; port 0 picks a free port. */
  readonly listen: string;
  readonly metricsListen?: string | undefined;
  /** Shared session/behaviour state; in-memory when absent. */
  readonly store?: StoreOptions | undefined;
  /** MaxMind .mmdb for impossible travel; the bundled country database when absent. */
  readonly geoipDb?: string | undefined;
  readonly logger?: Logger | undefined;
  /** Poll the config instead of relying on fs events (network filesystems, ConfigMap mounts). */
  readonly pollConfigMs?: number | undefined;
}

export interface RunningAuthz {
  readonly port: number;
  readonly metricsPort: number | undefined;
  /** The current snapshot (for tests and `explain`). */
  snapshot(): Snapshot | undefined;
  decide(request: WardenRequest): Promise<Verdict>;
  close(): Promise<void>;
}

export async function startAuthz(options: AuthzOptions): Promise<RunningAuthz> {
  const logger = options.logger ?? pino({ name: 'mcp-warden-authz' });
  const metrics: WardenMetrics = createMetrics();
  await initSqlParser();

  let current: Snapshot | undefined;
  let generation = 0;
  const store = await createStoreFromOptions(options.store ?? {});
  const geo = await geoLookupFromOptions({ mmdbPath: options.geoipDb });
  const stateful = createStatefulChecks({ store, logger, ...(geo !== undefined ? { geo } : {}) });
  const engine = createEngine({ snapshot: () => current, stateful, identifySession: (ctx) => sessionIdentity(ctx).ref });

  // The gRPC server records metrics and security events for every verdict, fail-closed ones included.
  const decide = (request: WardenRequest): Promise<Verdict> => engine.decide(request);

  const server = await startAuthzServer({ listen: options.listen, decide, logger, metrics });
  server.setServing(false);

  /** What a rejected load leaves in service, for the log line that reports it. */
  function whatStays(): string {
    return current !== undefined ? 'keeping the last good one' : 'no config loaded yet, denying every request';
  }

  function onLoad(result: LoadResult, isolation: SnapshotOptions = {}): void {
    const build = buildSnapshot(result, generation + 1, Date.now(), isolation);
    for (const warning of build.warnings) logger.warn({ event: 'mcp-warden.config' }, warning);
    if (build.snapshot === undefined) {
      metrics.configReload('error');
      const stays = whatStays();
      for (const p of build.problems) logger.error({ event: 'mcp-warden.config', resource: p.resource, path: p.path }, `config rejected (${stays}): ${p.resource}: ${p.path}: ${p.message}`);
      return;
    }
    // Only with isolation can a snapshot come with problems: the servers they touch fail closed.
    for (const p of build.problems) logger.error({ event: 'mcp-warden.config', resource: p.resource, path: p.path }, `invalid, the servers it targets deny every request: ${p.resource}: ${p.path}: ${p.message}`);
    generation += 1;
    current = build.snapshot;
    metrics.configReload('success', generation);
    server.setServing(true);
    logInferences(logger, build.inferences);
    logger.info({ event: 'mcp-warden.config', generation, servers: build.snapshot.servers.size }, `config generation ${generation} loaded from ${options.configPath ?? 'the cluster'}`);
  }

  function onClusterErrors(errors: readonly ConfigError[]): void {
    metrics.configReload('error');
    for (const e of errors) logger.error({ event: 'mcp-warden.config', resource: e.resource, path: e.path }, `invalid, left out of the configuration (a policy's servers deny every request): ${e.resource ?? e.file}: ${e.path}: ${e.message}`);
  }

  function onErrors(errors: readonly ConfigError[]): void {
    metrics.configReload('error');
    const stays = whatStays();
    for (const e of errors) logger.error({ event: 'mcp-warden.config', file: e.file, document: e.document, path: e.path }, `config rejected (${stays}): ${e.file}:${e.document}: ${e.path}: ${e.message}`);
  }

  let watcher;
  try {
    watcher =
      options.configPath !== undefined
        ? await watchManifests(options.configPath, onLoad, { onError: onErrors, pollMs: options.pollConfigMs })
        : await watchCluster(options, (result) => onLoad(result, { isolateInvalid: true, rejected: result.rejectedPolicies }), onClusterErrors, logger);
  } catch (err) {
    // Nothing may keep the process alive (or the port bound) after a start-up failure.
    await server.close();
    await stateful.close();
    throw err;
  }

  const metricsServer = options.metricsListen !== undefined ? await startMetricsServer(options.metricsListen, metrics.registry, createSessionsAdminHandler(store)) : undefined;

  return {
    port: server.port,
    metricsPort: metricsServer?.port,
    snapshot: () => current,
    decide,
    async close() {
      await watcher.close();
      await server.close();
      await metricsServer?.close();
      await stateful.close();
    },
  };
}

/**
 * Cluster mode: watch MCPServer/MCPPolicy through the API server. The Kubernetes client is
 * loaded only here, so file mode never pays for it. Failures name the mode, the kubeconfig
 * and the alternative, instead of an ENOENT or endless retries against localhost:8080.
 */
async function watchCluster(
  options: AuthzOptions,
  onLoad: (result: ClusterLoadResult) => void,
  onErrors: (errors: readonly ConfigError[]) => void,
  logger: Logger,
): Promise<{ close(): Promise<void> }> {
  const alternative = 'or pass --config PATH to read MCPServer/MCPPolicy manifests from files';
  if (options.kubeconfig === undefined && process.env.KUBERNETES_SERVICE_HOST === undefined) {
    throw new Error(`cluster mode (no --config): no kubeconfig given and not running inside a Kubernetes pod (KUBERNETES_SERVICE_HOST is unset); pass --kubeconfig PATH to watch a cluster, ${alternative}`);
  }
  const source = options.kubeconfig !== undefined ? `kubeconfig ${options.kubeconfig}` : 'the in-cluster service account';
  const { watchClusterManifests } = await import('./config/cluster.js');
  try {
    return await watchClusterManifests(options.kubeconfig, onLoad, onErrors, { logger, ...(options.namespace !== undefined ? { namespace: options.namespace } : {}) });
  } catch (err) {
    throw new Error(`cluster mode (no --config): cannot watch MCPServer/MCPPolicy with ${source}: ${err instanceof Error ? err.message : String(err)}; fix the kubeconfig (--kubeconfig PATH), ${alternative}`, { cause: err });
  }
}

/**
 * Argument kinds decide which detector guards each argument, so users see them at load: one
 * info line per tool (`explain` shows the reasons); the per-argument detail is at debug.
 */
function logInferences(logger: Logger, inferences: readonly InferenceNote[]): void {
  const byTool = new Map<string, InferenceNote[]>();
  for (const note of inferences) {
    const key = `${note.server} ${note.policy} ${note.tool}`;
    const list = byTool.get(key);
    if (list === undefined) byTool.set(key, [note]);
    else list.push(note);
  }
  for (const notes of byTool.values()) {
    const first = notes[0]!;
    const kinds = notes.map((n) => `${n.pointer}=${n.kind}${n.source === 'inferred' ? '*' : ''}`).join(' ');
    logger.info({ event: 'mcp-warden.argument-kinds', server: first.server, policy: first.policy, tool: first.tool }, `tool ${first.tool}: argument kinds ${kinds} (* inferred from the schema; see mcp-warden explain)`);
    for (const note of notes) logger.debug({ event: 'mcp-warden.inference', ...note }, `argument ${note.pointer} of ${note.tool}: kind ${note.kind} (${note.source}: ${note.reason})`);
  }
}

const USAGE = 'usage: mcp-warden authz [--config PATH | --kubeconfig PATH [--namespace NS]] --listen HOST:PORT [--metrics-listen HOST:PORT] [--redis URL [--redis-password-file F] [--redis-tls [--redis-tls-ca F]] [--redis-cluster]] [--max-sessions N] [--memory-max-bytes N] [--geoip-db FILE.mmdb] [--log-level LEVEL]';

export async function runAuthzCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        listen: { type: 'string', default: '127.0.0.1:9191' },
        'metrics-listen': { type: 'string' },
        redis: { type: 'string' },
        'redis-password-file': { type: 'string' },
        'redis-tls': { type: 'boolean', default: false },
        'redis-tls-ca': { type: 'string' },
        'redis-cluster': { type: 'boolean', default: false },
        'max-sessions': { type: 'string' },
        'memory-max-bytes': { type: 'string' },
        'geoip-db': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'poll-config-ms': { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const logger = pino({ name: 'mcp-warden-authz', level: values['log-level'] });
  // Secrets come from a file or the environment, never from argv (visible in ps).
  const redisUrl = values.redis ?? process.env.MCP_WARDEN_REDIS_URL;
  const redisPassword = values['redis-password-file'] !== undefined ? (await readFile(values['redis-password-file'], 'utf8')).trim() : process.env.MCP_WARDEN_REDIS_PASSWORD;
  let running: RunningAuthz;
  try {
    running = await startAuthz({
      configPath: values.config,
      kubeconfig: values.kubeconfig ?? process.env.KUBECONFIG,
      namespace: values.namespace,
      listen: values.listen,
      metricsListen: values['metrics-listen'],
      store: {
        ...(redisUrl !== undefined ? { redisUrl } : {}),
        ...(redisPassword !== undefined ? { redisPassword } : {}),
        ...(values['redis-tls'] ? { redisTls: true } : {}),
        ...(values['redis-tls-ca'] !== undefined ? { redisTlsCaFile: values['redis-tls-ca'] } : {}),
        ...(values['redis-cluster'] ? { redisCluster: true } : {}),
        ...(values['max-sessions'] !== undefined ? { memoryMaxSessions: Number(values['max-sessions']) } : {}),
      ...(values['memory-max-bytes'] !== undefined ? { memoryMaxBytes: Number(values['memory-max-bytes']) } : {}),
      },
      geoipDb: values['geoip-db'],
      logger,
      pollConfigMs: values['poll-config-ms'] !== undefined ? Number(values['poll-config-ms']) : undefined,
    });
  } catch (err) {
    process.stderr.write(`mcp-warden authz: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
  logger.info({ event: 'mcp-warden.start', port: running.port, metricsPort: running.metricsPort }, `authz listening on ${values.listen.replace(/:\d+$/, '')}:${running.port}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await running.close();
  return 0;
}
