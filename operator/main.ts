/**
 * `mcp-warden operator [--kubeconfig PATH] [--namespace NS] [--leader-elect] …`: parses the
 * command line, starts the operator, and stops it cleanly on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { loadKubeConfig, KubeClient } from './runtime/kube-client.js';
import { startOperator, type WebhookOptions } from './operator.js';
import type { WebhookEndpoint } from './webhook/configuration.js';
import { loadToolScanner } from './discovery/scanner.js';
import { uninstallOperator, WEBHOOK_CONFIGURATION_NAME, WEBHOOK_SECRET_NAME } from './uninstall.js';
import { parseListenAddress, type ListenAddress } from '../authz/telemetry/listen-address.js';

const USAGE = `usage: mcp-warden operator [--kubeconfig PATH] [--namespace NS] [--leader-elect]
  [--operator-namespace NS] [--authz-address HOST:PORT] [--envoy-image IMAGE]
  [--webhook-listen HOST:PORT] [--webhook-service NS/NAME[:PORT] | --webhook-url URL | --no-webhook]
  [--webhook-failure-policy Fail|Ignore] [--network-policy | --no-network-policy] [--log-level LEVEL]
       mcp-warden operator uninstall [--kubeconfig PATH] [--operator-namespace NS]
`;

/** HOST:PORT of something to reach or bind: the host may not be left out. */
function hostPort(value: string, flag: string): ListenAddress {
  if (value.trim().startsWith(':')) throw new Error(`${flag} '${value}' is not HOST:PORT: the host is missing`);
  return parseListenAddress(value, flag);
}

async function runUninstall(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        'operator-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'mcp-warden' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`mcp-warden operator uninstall: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  try {
    const client = new KubeClient(loadKubeConfig(values.kubeconfig));
    const removed = await uninstallOperator(client, { operatorNamespace: values['operator-namespace'] });
    process.stdout.write(removed.length === 0 ? 'nothing to remove\n' : removed.map((r) => `deleted ${r}\n`).join(''));
    return 0;
  } catch (err) {
    process.stderr.write(`mcp-warden operator uninstall: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

export async function runOperatorCommand(argv: string[]): Promise<number> {
  if (argv[0] === 'uninstall') return runUninstall(argv.slice(1));
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'leader-elect': { type: 'boolean', default: false },
        'operator-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'mcp-warden' },
        'authz-address': { type: 'string' },
        'envoy-image': { type: 'string' },
        'webhook-listen': { type: 'string', default: '0.0.0.0:9443' },
        'webhook-service': { type: 'string', default: 'mcp-warden/mcp-warden-webhook:443' },
        'webhook-url': { type: 'string' },
        'no-webhook': { type: 'boolean', default: false },
        'network-policy': { type: 'boolean', default: true },
        'no-network-policy': { type: 'boolean', default: false },
        'webhook-failure-policy': { type: 'string', default: 'Fail' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`mcp-warden operator: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const failurePolicy = values['webhook-failure-policy'];
  if (failurePolicy !== 'Fail' && failurePolicy !== 'Ignore') {
    process.stderr.write(`mcp-warden operator: --webhook-failure-policy must be Fail or Ignore\n`);
    return 2;
  }
  const operatorNamespace = values['operator-namespace'];
  const logger = pino({ name: 'mcp-warden-operator', level: values['log-level'] });
  let webhook: WebhookOptions | undefined;
  try {
    if (!values['no-webhook']) {
      const listen = hostPort(values['webhook-listen'], '--webhook-listen');
      let endpoint: WebhookEndpoint;
      let hosts: string[];
      if (values['webhook-url'] !== undefined) {
        const url = new URL(values['webhook-url']);
        endpoint = { url: url.toString() };
        hosts = [url.hostname.replace(/^\[|\]$/g, '')];
      } else {
        const m = /^([a-z0-9-]+)\/([a-z0-9-]+)(?::(\d+))?$/.exec(values['webhook-service']);
        if (m === null) throw new Error(`--webhook-service: expected NAMESPACE/NAME[:PORT], got '${values['webhook-service']}'`);
        const [, namespace = '', name = '', port = '443'] = m;
        endpoint = { service: { namespace, name, port: Number(port) } };
        hosts = [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`];
      }
      webhook = {
        listenHost: listen.host,
        listenPort: listen.port,
        endpoint,
        hosts,
        configurationName: WEBHOOK_CONFIGURATION_NAME,
        secretName: WEBHOOK_SECRET_NAME,
        failurePolicy,
      };
    }
    const authz = hostPort(values['authz-address'] ?? `mcp-warden-authz.${operatorNamespace}.svc:9191`, '--authz-address');
    const client = new KubeClient(loadKubeConfig(values.kubeconfig));
    const scanTool = await loadToolScanner();
    if (scanTool === undefined) logger.warn({}, 'tool scanner not available: discovery records digests without findings');
    const operator = await startOperator({
      ...(scanTool !== undefined ? { scanTool } : {}),
      client,
      logger,
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      operatorNamespace,
      leaderElect: values['leader-elect'],
      networkPolicy: values['network-policy'] && !values['no-network-policy'],
      authzAddress: authz,
      ...(values['envoy-image'] !== undefined ? { envoyImage: values['envoy-image'] } : {}),
      ...(webhook !== undefined ? { webhook } : {}),
    });
    logger.info({ namespace: values.namespace ?? '(all)', webhookPort: operator.webhookPort, leaderElect: values['leader-elect'] }, 'operator started');
    const reason = await Promise.race([
      new Promise<'signal'>((resolve) => {
        process.once('SIGINT', () => resolve('signal'));
        process.once('SIGTERM', () => resolve('signal'));
      }),
      operator.lostLeadership.then(() => 'lost' as const),
    ]);
    await operator.stop();
    // A replica that lost its Lease exits non-zero so its supervisor restarts it as a candidate.
    return reason === 'lost' ? 1 : 0;
  } catch (err) {
    logger.error({ err: err instanceof Error ? err.message : String(err) }, 'operator failed');
    return 1;
  }
}
