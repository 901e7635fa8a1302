/**
 * What the admission webhook adds to a pod an MCPServer selects: Envoy as a native sidecar
 * (an init container with restartPolicy Always, Kubernetes ≥ 1.29: it starts before the MCP
 * server and stops after it), the ConfigMap with its rendered config, a scratch volume, and
 * a hardened securityContext (non-root, read-only root filesystem, no privilege escalation,
 * all capabilities dropped, RuntimeDefault seccomp). Pure: pod in, JSON Patch out.
 */
import type { MCPServer } from '../../authz/api/types.js';
import { BOOTSTRAP_FILE, DEFAULT_CONFIG_DIR } from '../../authz/sidecar/render.js';
import { envoyConfigMapName } from '../controllers/mcpserver/envoy-configmap.js';

export const SIDECAR_CONTAINER = 'mcp-warden-envoy';
export const CONFIG_VOLUME = 'mcp-warden-envoy-config';
export const SCRATCH_VOLUME = 'mcp-warden-envoy-tmp';
/** Pod annotation naming the MCPServer whose sidecar the pod got. */
export const INJECTED_ANNOTATION = 'mcpwarden.io/injected-for';
export const DEFAULT_ENVOY_IMAGE = 'envoyproxy/envoy:v1.36.2';
/** The Envoy image's envoy user. */
const ENVOY_UID = 101;

export interface PodLike {
  metadata?: { name?: string; generateName?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: {
    containers?: Array<{ name: string }>;
    initContainers?: Array<{ name: string }>;
    volumes?: Array<{ name: string }>;
  };
}

export interface JsonPatchOp {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

export function hasSidecar(pod: PodLike): boolean {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some((c) => c.name === SIDECAR_CONTAINER);
}

export function sidecarContainer(server: MCPServer, image: string): Record<string, unknown> {
  const port = server.spec.listener.port;
  return {
    name: SIDECAR_CONTAINER,
    image,
    restartPolicy: 'Always',
    args: ['--config-path', `${DEFAULT_CONFIG_DIR}/${BOOTSTRAP_FILE}`, '--log-level', 'warn', '--base-id', '1'],
    ports: [{ name: 'mcp-warden', containerPort: port, protocol: 'TCP' }],
    readinessProbe: { tcpSocket: { port }, periodSeconds: 5 },
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    securityContext: {
      runAsNonRoot: true,
      runAsUser: ENVOY_UID,
      runAsGroup: ENVOY_UID,
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      privileged: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [
      { name: CONFIG_VOLUME, mountPath: DEFAULT_CONFIG_DIR, readOnly: true },
      { name: SCRATCH_VOLUME, mountPath: '/tmp' },
    ],
  };
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The JSON Patch (RFC 6902) that injects the sidecar; empty when the pod already has it. */
export function injectionPatch(pod: PodLike, server: MCPServer, image: string): JsonPatchOp[] {
  if (hasSidecar(pod)) return [];
  const ops: JsonPatchOp[] = [];
  const container = sidecarContainer(server, image);
  // Native sidecars run in init order: ours goes first so Envoy is up before other init work.
  if (pod.spec?.initContainers === undefined) ops.push({ op: 'add', path: '/spec/initContainers', value: [container] });
  else ops.push({ op: 'add', path: '/spec/initContainers/0', value: container });
  const volumes = [
    { name: CONFIG_VOLUME, configMap: { name: envoyConfigMapName(server.metadata.name) } },
    { name: SCRATCH_VOLUME, emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } },
  ];
  if (pod.spec?.volumes === undefined) ops.push({ op: 'add', path: '/spec/volumes', value: volumes });
  else for (const volume of volumes) ops.push({ op: 'add', path: '/spec/volumes/-', value: volume });
  const value = `${server.metadata.namespace ?? 'default'}/${server.metadata.name}`;
  if (pod.metadata?.annotations === undefined) ops.push({ op: 'add', path: '/metadata/annotations', value: { [INJECTED_ANNOTATION]: value } });
  else ops.push({ op: 'add', path: `/metadata/annotations/${escapePointer(INJECTED_ANNOTATION)}`, value });
  return ops;
}
