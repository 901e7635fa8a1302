/**
 * Wires the operator: informers (shared caches), the MCPServer and MCPPolicy controllers,
 * the sidecar webhook with its certificate, and leader election. Every replica keeps warm
 * caches and serves the webhook; only the leader reconciles.
 */
import { hostname } from 'node:os';
import type { ToolDefinition, ToolFinding } from '../authz/api/types.js';
import type { HostPort } from '../authz/sidecar/render.js';
import { makeMCPPolicyReconciler } from './controllers/mcppolicy/reconcile.js';
import { MANAGED_BY_LABEL, SERVER_LABEL } from './controllers/mcpserver/envoy-configmap.js';
import { makeMCPServerReconciler } from './controllers/mcpserver/reconcile.js';
import { selectorMatches } from './controllers/label-selector.js';
import { listTools as defaultListTools, type ListedTools } from './discovery/list-tools.js';
import { Controller } from './runtime/controller.js';
import { EventRecorder } from './runtime/events.js';
import { Informer } from './runtime/informer.js';
import { keyOf, KubeClient, type KubeObject } from './runtime/kube-client.js';
import { LeaderElector } from './runtime/leader-election.js';
import type { Logger } from './runtime/logger.js';
import { CONFIGMAPS, MCPPOLICIES, MCPSERVERS, NETWORK_POLICIES, PODS } from './runtime/resources.js';
import type { WebhookEndpoint } from './webhook/configuration.js';
import { WebhookKeeper } from './webhook/keeper.js';
import { WebhookServer } from './webhook/server.js';
import { DEFAULT_ENVOY_IMAGE } from './webhook/sidecar.js';
import { ensureWebhookTls } from './webhook/tls.js';

export interface WebhookOptions {
  listenHost: string;
  listenPort: number;
  /** How the API server reaches the webhook (a Service in a cluster, a URL in tests). */
  endpoint: WebhookEndpoint;
  /** Names the serving certificate must cover. */
  hosts: string[];
  configurationName: string;
  secretName: string;
  failurePolicy?: 'Fail' | 'Ignore';
  /** How often the certificate is checked for renewal (and the configuration compared). */
  rotationCheckMs?: number;
  /** How long a new CA is published before a certificate it signed is served (default 10 s). */
  caPropagationMs?: number;
  /** Certificate lifetimes (defaults 5 years and 90 days), shortened by tests. */
  caLifetimeMs?: number;
  servingLifetimeMs?: number;
}

export interface OperatorOptions {
  client: KubeClient;
  logger: Logger;
  /** Namespace to watch; all namespaces when absent. */
  namespace?: string;
  /** Where the Lease and the webhook Secret live. */
  operatorNamespace: string;
  leaderElect: boolean;
  identity?: string;
  leaseName?: string;
  authzAddress: HostPort;
  envoyImage?: string;
  webhook?: WebhookOptions;
  /** One NetworkPolicy per MCPServer: ingress only to Envoy, plus discovery (default true). */
  networkPolicy?: boolean;
  listTools?: (url: string) => Promise<ListedTools>;
  scanTool?: (tool: ToolDefinition) => ToolFinding[];
  resyncMs?: number;
  /** Lease timings, shortened by tests. */
  lease?: { durationSeconds: number; renewDeadlineMs: number; retryPeriodMs: number };
}

export interface RunningOperator {
  webhookPort?: number;
  /** Resolves once this replica leads and its controllers run. */
  leading: Promise<void>;
  /** Resolves if this replica loses its Lease; the process should then exit and restart. */
  lostLeadership: Promise<void>;
  stop(): Promise<void>;
}

export async function startOperator(o: OperatorOptions): Promise<RunningOperator> {
  const { client, logger } = o;
  const informerOptions = { logger, ...(o.namespace !== undefined ? { namespace: o.namespace } : {}), resyncMs: o.resyncMs ?? 300_000 };
  const servers = new Informer<KubeObject>(client, MCPSERVERS, informerOptions);
  const policies = new Informer<KubeObject>(client, MCPPOLICIES, informerOptions);
  const pods = new Informer<KubeObject>(client, PODS, { ...informerOptions, resyncMs: 0 });
  const configMaps = new Informer<KubeObject>(client, CONFIGMAPS, { ...informerOptions, resyncMs: 0, labelSelector: `${MANAGED_BY_LABEL}=mcp-warden` });
  const networkPolicies =
    o.networkPolicy !== false
      ? new Informer<KubeObject>(client, NETWORK_POLICIES, { ...informerOptions, resyncMs: 0, labelSelector: `${MANAGED_BY_LABEL}=mcp-warden` })
      : undefined;
  const events = new EventRecorder(client, { component: 'mcp-warden-operator', logger });

  const serverController = new Controller(
    'mcpserver',
    makeMCPServerReconciler({
      client,
      servers,
      policies,
      pods,
      configMaps,
      ...(networkPolicies !== undefined ? { networkPolicies } : {}),
      operatorNamespace: o.operatorNamespace,
      events,
      logger,
      authzAddress: o.authzAddress,
      listTools: o.listTools ?? ((url) => defaultListTools(url)),
      ...(o.scanTool !== undefined ? { scanTool: o.scanTool } : {}),
    }),
    { logger },
  );
  const policyController = new Controller('mcppolicy', makeMCPPolicyReconciler({ client, servers, policies, events }), { logger });

  const ns = (obj: KubeObject): string => obj.metadata?.namespace ?? 'default';
  const enqueueAll = (controller: Controller, informer: Informer<KubeObject>, namespace: string): void => {
    for (const obj of informer.list(namespace)) controller.enqueue(keyOf(obj));
  };
  servers.on((event, obj) => {
    serverController.enqueue(keyOf(obj));
    if (event === 'resync') return;
    // A server's selector decides overlaps with its siblings, and which policies resolve.
    enqueueAll(serverController, servers, ns(obj));
    enqueueAll(policyController, policies, ns(obj));
  });
  policies.on((event, obj) => {
    if (event === 'resync') {
      policyController.enqueue(keyOf(obj));
      return;
    }
    // A policy changes pins and body limits of its servers, and conflicts of its siblings.
    enqueueAll(policyController, policies, ns(obj));
    policyController.enqueue(keyOf(obj));
    enqueueAll(serverController, servers, ns(obj));
  });
  pods.on((_event, pod) => {
    for (const server of servers.list(ns(pod))) {
      const selector = (server.spec as { selector?: Parameters<typeof selectorMatches>[0] } | undefined)?.selector;
      if (selectorMatches(selector, pod.metadata?.labels)) serverController.enqueue(keyOf(server));
    }
  });
  const enqueueOwner = (_event: unknown, owned: KubeObject): void => {
    const owner = owned.metadata?.labels?.[SERVER_LABEL];
    if (owner !== undefined) serverController.enqueue(`${ns(owned)}/${owner}`);
  };
  configMaps.on(enqueueOwner);
  networkPolicies?.on(enqueueOwner);

  await Promise.all([servers.start(), policies.start(), pods.start(), configMaps.start(), networkPolicies?.start()]);

  let webhook: WebhookServer | undefined;
  let keeper: WebhookKeeper | undefined;
  let webhookPort: number | undefined;
  if (o.webhook !== undefined) {
    const w = o.webhook;
    const tlsOptions = {
      namespace: o.operatorNamespace,
      secretName: w.secretName,
      hosts: w.hosts,
      ...(w.caLifetimeMs !== undefined ? { caLifetimeMs: w.caLifetimeMs } : {}),
      ...(w.servingLifetimeMs !== undefined ? { servingLifetimeMs: w.servingLifetimeMs } : {}),
    };
    const tls = await ensureWebhookTls(client, tlsOptions);
    webhook = new WebhookServer({ servers, envoyImage: o.envoyImage ?? DEFAULT_ENVOY_IMAGE, logger, tls, host: w.listenHost, port: w.listenPort });
    webhookPort = (await webhook.listen()).port;
    const endpoint: WebhookEndpoint = 'url' in w.endpoint ? { url: w.endpoint.url.replace(/:0(?=\/|$)/, `:${webhookPort}`) } : w.endpoint;
    keeper = new WebhookKeeper(
      {
        client,
        logger,
        server: webhook,
        tls: tlsOptions,
        configuration: {
          name: w.configurationName,
          endpoint,
          operatorNamespace: o.operatorNamespace,
          ...(w.failurePolicy !== undefined ? { failurePolicy: w.failurePolicy } : {}),
        },
        checkMs: w.rotationCheckMs ?? 3600_000,
        caPropagationMs: w.caPropagationMs ?? 10_000,
      },
      tls,
    );
    await keeper.start();
  }

  const startControllers = (): void => {
    serverController.start();
    policyController.start();
    enqueueAll(serverController, servers, o.namespace ?? '');
    enqueueAll(policyController, policies, o.namespace ?? '');
  };
  let elector: LeaderElector | undefined;
  let leading: Promise<void>;
  let stopping = false;
  let markLost: () => void = () => undefined;
  const lostLeadership = new Promise<void>((resolve) => (markLost = resolve));
  if (o.leaderElect) {
    elector = new LeaderElector(client, {
      namespace: o.operatorNamespace,
      name: o.leaseName ?? 'mcp-warden-operator',
      identity: o.identity ?? `${hostname()}-${process.pid}`,
      logger,
      ...(o.lease !== undefined
        ? { leaseDurationSeconds: o.lease.durationSeconds, renewDeadlineMs: o.lease.renewDeadlineMs, retryPeriodMs: o.lease.retryPeriodMs }
        : {}),
    });
    const e = elector;
    leading = new Promise<void>((resolve) => {
      void e.run(
        () => {
          startControllers();
          resolve();
        },
        () => {
          // A leader that lost its Lease must stop writing at once; a supervisor restarts it.
          if (!stopping) {
            logger.error({}, 'leadership lost; stopping controllers');
            void serverController.stop();
            void policyController.stop();
            markLost();
          }
        },
      );
    });
  } else {
    startControllers();
    leading = Promise.resolve();
  }

  return {
    ...(webhookPort !== undefined ? { webhookPort } : {}),
    leading,
    lostLeadership,
    async stop(): Promise<void> {
      stopping = true;
      await Promise.all([serverController.stop(), policyController.stop()]);
      await elector?.stop();
      await keeper?.stop();
      await webhook?.close();
      await Promise.all([servers.stop(), policies.stop(), pods.stop(), configMaps.stop(), networkPolicies?.stop()]);
    },
  };
}
