/**
 * MCPServer (+ the policy's body limit) → the Envoy sidecar's configuration. Shared by the
 * operator (which puts the files in a ConfigMap) and by `mcp-warden demo` and the e2e tests
 * (which write them to a directory). The result is three documents:
 *
 * - `envoy.yaml`, the bootstrap: admin, overload limits and file-based LDS/CDS pointing at
 *   the two files below in a watched directory, so a new config is picked up without restart;
 * - `lds.yaml`: the listener → http_connection_manager → [jwt_authn] → ext_authz → router;
 * - `cds.yaml`: the upstream MCP server, the authz service (gRPC, HTTP/2) and, with JWT, JWKS.
 *
 * Field names follow the Envoy v3 API (proto JSON); `envoy --mode validate` checks them in
 * render.envoy.test.ts.
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { MCPServer } from '../api/types.js';
import { denialBody, type JsonObject, type JsonValue } from './json.js';

export type { JsonObject, JsonValue } from './json.js';

export const LISTENER_NAME = 'mcp-warden-ingress';
export const UPSTREAM_CLUSTER = 'mcp-warden-upstream';
export const AUTHZ_CLUSTER = 'mcp-warden-authz';
export const JWKS_CLUSTER = 'mcp-warden-jwks';
/** The ext_authz context extension naming the MCPServer (ARCHITECTURE.md "Contracts"). */
export const SERVER_CONTEXT_EXTENSION = 'mcpwarden.io/server';
/** Dynamic metadata key under `envoy.filters.http.jwt_authn` holding the verified payload. */
export const JWT_PAYLOAD_METADATA_KEY = 'jwt_payload';
export const DEFAULT_CONFIG_DIR = '/etc/mcp-warden/envoy';
export const LDS_FILE = 'lds.yaml';
export const CDS_FILE = 'cds.yaml';
export const BOOTSTRAP_FILE = 'envoy.yaml';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface RenderOptions {
  /** Where the authz gRPC service listens (a Service name in a cluster, 127.0.0.1 in tests). */
  readonly authzAddress: HostPort;
  /** The policy's `protocol.maxBodyBytes`: larger bodies get 413 from Envoy itself. */
  readonly maxBodyBytes: number;
  /** Directory holding lds.yaml and cds.yaml, as Envoy sees it (default /etc/mcp-warden/envoy). */
  readonly configDir?: string;
  /** Address the listener binds (default 0.0.0.0: the pod's interfaces). */
  readonly listenAddress?: string;
  /** Admin interface port on 127.0.0.1 (default 9901); 0 lets Envoy pick one. */
  readonly adminPort?: number;
  /** JSON access log lines on stdout (default true). */
  readonly accessLog?: boolean;
  /** ext_authz call timeout; a slower authz service means a denial (default 1000 ms). */
  readonly timeoutMs?: number;
  /** Status Envoy answers with when the authz service fails or times out (default 503). */
  readonly statusOnAuthzError?: number;
  /** Idle time after which a stream (e.g. an SSE GET stream) is closed (default 1 h). */
  readonly streamIdleTimeoutMs?: number;
  /** Time allowed to receive a whole request (default 60 s); bounds slow-body clients. */
  readonly requestTimeoutMs?: number;
  /** Per-connection read/write buffer (default 64 KiB); bodies for ext_authz buffer separately. */
  readonly connectionBufferBytes?: number;
  /** Downstream connections the whole Envoy accepts (overload manager, default 10000). */
  readonly maxDownstreamConnections?: number;
  /** Upper bound of request headers (default 60 KiB, 100 headers). */
  readonly maxRequestHeadersKb?: number;
  readonly maxRequestHeaders?: number;
  /** Envoy node id (default `<namespace>/<name>`). */
  readonly nodeId?: string;
  /** Serve agents over TLS; with `clientCaPath`, client certificates reach the authz service. */
  readonly tls?: DownstreamTls;
}

export interface DownstreamTls {
  /** PEM files as Envoy sees them (a mounted Secret in a pod). */
  readonly certificateChainPath: string;
  readonly privateKeyPath: string;
  /** CA bundle client certificates must chain to; without it no client certificate is asked for. */
  readonly clientCaPath?: string;
  /** Refuse the TLS handshake without a valid client certificate (mutual TLS). */
  readonly requireClientCertificate?: boolean;
}

export interface EnvoySidecarConfig {
  /** The directory the bootstrap points LDS and CDS at. */
  readonly configDir: string;
  readonly bootstrap: JsonObject;
  /** LDS file content: a DiscoveryResponse holding the listener. */
  readonly lds: JsonObject;
  /** CDS file content: a DiscoveryResponse holding the clusters. */
  readonly cds: JsonObject;
}

const LISTENER_TYPE = 'type.googleapis.com/envoy.config.listener.v3.Listener';
const CLUSTER_TYPE = 'type.googleapis.com/envoy.config.cluster.v3.Cluster';

/** Proto JSON Duration. */
export function duration(ms: number): string {
  return `${(ms / 1000).toFixed(3).replace(/\.?0+$/, '')}s`;
}

function serverKey(server: MCPServer): string {
  return `${server.metadata.namespace ?? 'default'}/${server.metadata.name}`;
}

function socketAddress(host: string, port: number): JsonObject {
  return { socket_address: { address: host, port_value: port } };
}

/** STATIC for IP literals, STRICT_DNS for names (Service DNS in a cluster, localhost). */
function endpointCluster(name: string, address: HostPort): JsonObject {
  const literal = isIP(address.host) !== 0;
  return {
    name,
    type: literal ? 'STATIC' : 'STRICT_DNS',
    ...(literal ? {} : { dns_lookup_family: 'V4_PREFERRED' }),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address.host, address.port) } }] }],
    },
  };
}

function httpProtocolOptions(explicit: JsonObject, idleMs: number): JsonObject {
  return {
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
      '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
      common_http_protocol_options: { idle_timeout: duration(idleMs) },
      explicit_http_config: explicit,
    },
  };
}

function circuitBreakers(max: number): JsonObject {
  return {
    thresholds: [{ priority: 'DEFAULT', max_connections: max, max_pending_requests: max, max_requests: max, max_retries: 3 }],
  };
}

function upstreamCluster(server: MCPServer, bufferBytes: number): JsonObject {
  const host = server.spec.upstream.host ?? '127.0.0.1';
  return {
    ...endpointCluster(UPSTREAM_CLUSTER, { host, port: server.spec.upstream.port }),
    connect_timeout: '5s',
    per_connection_buffer_limit_bytes: bufferBytes,
    circuit_breakers: circuitBreakers(1024),
    // MCP servers speak HTTP/1.1 (Node http, uvicorn …); SSE rides on it unbuffered.
    typed_extension_protocol_options: httpProtocolOptions({ http_protocol_options: {} }, 300_000),
  };
}

function authzCluster(address: HostPort): JsonObject {
  return {
    ...endpointCluster(AUTHZ_CLUSTER, address),
    connect_timeout: '1s',
    circuit_breakers: circuitBreakers(4096),
    // gRPC needs HTTP/2 to the authz service.
    typed_extension_protocol_options: httpProtocolOptions(
      { http2_protocol_options: { connection_keepalive: { interval: '30s', timeout: '5s' } } },
      3_600_000,
    ),
  };
}

function jwksCluster(jwksUri: string): JsonObject {
  const url = new URL(jwksUri);
  const https = url.protocol === 'https:';
  const port = url.port !== '' ? Number(url.port) : https ? 443 : 80;
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return {
    ...endpointCluster(JWKS_CLUSTER, { host, port }),
    connect_timeout: '5s',
    ...(https
      ? {
          transport_socket: {
            name: 'envoy.transport_sockets.tls',
            typed_config: {
              '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
              sni: host,
            },
          },
        }
      : {}),
  };
}

function jwtAuthnFilter(jwt: NonNullable<NonNullable<MCPServer['spec']['auth']>['jwt']>): JsonObject {
  return {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication',
      providers: {
        warden: {
          issuer: jwt.issuer,
          ...(jwt.audiences !== undefined && jwt.audiences.length > 0 ? { audiences: [...jwt.audiences] } : {}),
          remote_jwks: {
            http_uri: { uri: jwt.jwksUri, cluster: JWKS_CLUSTER, timeout: '5s' },
            cache_duration: '300s',
            // Fetch keys when the listener starts, not on the first request.
            async_fetch: { fast_listener: false },
            retry_policy: { num_retries: 3 },
          },
          // The MCP server may want the token too (its own authorization); authz sees the payload.
          forward: true,
          payload_in_metadata: JWT_PAYLOAD_METADATA_KEY,
        },
      },
      rules: [{ match: { prefix: '/' }, requires: { provider_name: 'warden' } }],
    },
  };
}

function extAuthzFilter(options: Required<Pick<RenderOptions, 'maxBodyBytes' | 'timeoutMs' | 'statusOnAuthzError'>>): JsonObject {
  return {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz',
      grpc_service: { envoy_grpc: { cluster_name: AUTHZ_CLUSTER }, timeout: duration(options.timeoutMs) },
      transport_api_version: 'V3',
      // Fail closed: an unreachable, failing or slow authz service means a denial.
      failure_mode_allow: false,
      status_on_error: { code: options.statusOnAuthzError },
      // The whole body or nothing: a larger one is refused here with 413, authz never sees it.
      with_request_body: { max_request_bytes: options.maxBodyBytes, allow_partial_message: false, pack_as_bytes: true },
      metadata_context_namespaces: ['envoy.filters.http.jwt_authn'],
      include_peer_certificate: true,
    },
  };
}

/**
 * Envoy's own refusals (body too large, authz unreachable) carry a JSON-RPC error body like
 * the authz service's denials, so MCP clients see one format. Denials written by the authz
 * service itself pass through unchanged (their response code details differ).
 */
function localReplyConfig(): JsonObject {
  const mapper = (details: string, status: number | undefined, body: JsonObject): JsonObject => ({
    filter: {
      extension_filter: {
        name: 'envoy.access_loggers.extension_filters.cel',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.access_loggers.filters.cel.v3.ExpressionFilter',
          expression: `response.code_details.startsWith('${details}')`,
        },
      },
    },
    ...(status !== undefined ? { status_code: status } : {}),
    body_format_override: { json_format: body, content_type: 'application/json' },
  });
  return {
    mappers: [
      mapper('request_payload_too_large', 413, denialBody(-32001, 'request body exceeds the policy size limit', 'transport', 'body-too-large')),
      mapper('ext_authz_error', undefined, denialBody(-32603, 'authorization service unavailable; request denied (fail closed)', 'internal', 'authz-unavailable')),
    ],
  };
}

/**
 * Everything but the MCP endpoint (`/`, `/healthz`, `/admin` …) never reaches the server:
 * Envoy answers 404 itself, without asking the authz service. Paths are compared after
 * normalize_path and merge_slashes, so `/x/../mcp` and `//mcp` are the endpoint.
 */
function notMcpEndpointRoute(endpoint: string): JsonObject {
  const body = denialBody(-32002, `not found: the only endpoint here is the MCP endpoint ${endpoint}`, 'transport', 'path-not-mcp-endpoint');
  return {
    match: { prefix: '/' },
    direct_response: { status: 404, body: { inline_string: JSON.stringify(body) } },
    response_headers_to_add: [{ header: { key: 'content-type', value: 'application/json' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' }],
    typed_per_filter_config: {
      'envoy.filters.http.ext_authz': {
        '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
        disabled: true,
      },
    },
  };
}

function accessLog(): JsonValue[] {
  return [
    {
      name: 'envoy.access_loggers.stdout',
      typed_config: {
        '@type': 'type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog',
        log_format: {
          json_format: {
            time: '%START_TIME%',
            logger: 'mcp-warden-envoy',
            request_id: '%REQ(X-REQUEST-ID)%',
            method: '%REQ(:METHOD)%',
            path: '%REQ(:PATH)%',
            protocol: '%PROTOCOL%',
            status: '%RESPONSE_CODE%',
            details: '%RESPONSE_CODE_DETAILS%',
            flags: '%RESPONSE_FLAGS%',
            bytes_in: '%BYTES_RECEIVED%',
            bytes_out: '%BYTES_SENT%',
            duration_ms: '%DURATION%',
            upstream_ms: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
            source: '%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%',
            user_agent: '%REQ(USER-AGENT)%',
            mcp_session: '%REQ(MCP-SESSION-ID)%',
            mcp_protocol_version: '%REQ(MCP-PROTOCOL-VERSION)%',
            upstream: '%UPSTREAM_HOST%',
          },
        },
      },
    },
  ];
}

/**
 * Which peer address is the client: with `trustedProxies`, walk X-Forwarded-For from the
 * right, skipping those hops; without them, the TCP peer and XFF is never believed.
 */
function originalIpDetection(trustedProxies: readonly string[]): JsonObject {
  if (trustedProxies.length === 0) return { use_remote_address: true, xff_num_trusted_hops: 0 };
  const cidrs = trustedProxies.map((cidr): JsonObject => {
    const [prefix = '', len] = cidr.split('/');
    const family = isIP(prefix);
    if (family === 0) throw new Error(`spec.trustedProxies: '${cidr}' is not an IP address or CIDR range`);
    const bits = len === undefined ? (family === 4 ? 32 : 128) : Number(len);
    if (!Number.isInteger(bits) || bits < 0 || bits > (family === 4 ? 32 : 128)) {
      throw new Error(`spec.trustedProxies: '${cidr}' has an invalid prefix length`);
    }
    return { address_prefix: prefix, prefix_len: bits };
  });
  // Envoy refuses use_remote_address together with detection extensions; an untrusted peer
  // makes the extension fall back to the TCP peer address.
  return {
    original_ip_detection_extensions: [
      {
        name: 'envoy.http.original_ip_detection.xff',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.http.original_ip_detection.xff.v3.XffConfig',
          xff_trusted_cidrs: { cidrs },
        },
      },
    ],
  };
}

/**
 * TLS towards agents. The verified client certificate is what ext_authz forwards
 * (`include_peer_certificate`) and what becomes the principal without a JWT.
 */
function downstreamTls(tls: DownstreamTls): JsonObject {
  if (tls.requireClientCertificate === true && tls.clientCaPath === undefined) {
    throw new Error('tls.requireClientCertificate needs tls.clientCaPath (the CA that signs agent certificates)');
  }
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
      require_client_certificate: tls.requireClientCertificate ?? false,
      common_tls_context: {
        tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
        alpn_protocols: ['h2', 'http/1.1'],
        tls_certificates: [{ certificate_chain: { filename: tls.certificateChainPath }, private_key: { filename: tls.privateKeyPath } }],
        ...(tls.clientCaPath !== undefined ? { validation_context: { trusted_ca: { filename: tls.clientCaPath } } } : {}),
      },
    },
  };
}

function listener(server: MCPServer, o: ResolvedOptions): JsonObject {
  const filters: JsonObject[] = [];
  const jwt = server.spec.auth?.jwt;
  if (jwt !== undefined) filters.push(jwtAuthnFilter(jwt));
  filters.push(extAuthzFilter(o));
  filters.push({
    name: 'envoy.filters.http.router',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router', suppress_envoy_headers: true },
  });

  const hcm: JsonObject = {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    stat_prefix: 'mcp_warden',
    codec_type: 'AUTO',
    ...originalIpDetection(server.spec.trustedProxies ?? []),
    // One canonical path for the authz service and the MCP server alike (no %2F, //, ../ games).
    normalize_path: true,
    merge_slashes: true,
    path_with_escaped_slashes_action: 'REJECT_REQUEST',
    max_request_headers_kb: o.maxRequestHeadersKb,
    common_http_protocol_options: {
      max_headers_count: o.maxRequestHeaders,
      headers_with_underscores_action: 'REJECT_REQUEST',
      idle_timeout: '300s',
    },
    http2_protocol_options: { max_concurrent_streams: 100, initial_stream_window_size: 65536, initial_connection_window_size: 1048576 },
    // SSE streams (GET and streamed POST responses) may stay quiet for long stretches.
    stream_idle_timeout: duration(o.streamIdleTimeoutMs),
    request_timeout: duration(o.requestTimeoutMs),
    request_headers_timeout: '10s',
    // Transparent to MCP clients: keep the server's own Server header.
    server_header_transformation: 'PASS_THROUGH',
    local_reply_config: localReplyConfig(),
    route_config: {
      name: 'mcp-warden',
      virtual_hosts: [
        {
          name: 'mcp',
          domains: ['*'],
          routes: [
            {
              // Exact path; Envoy drops the query string before comparing.
              match: { path: server.spec.upstream.path },
              route: {
                cluster: UPSTREAM_CLUSTER,
                // No overall deadline: an SSE response lasts as long as the session.
                timeout: '0s',
                idle_timeout: duration(o.streamIdleTimeoutMs),
              },
              typed_per_filter_config: {
                'envoy.filters.http.ext_authz': {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute',
                  check_settings: { context_extensions: { [SERVER_CONTEXT_EXTENSION]: serverKey(server) } },
                },
              },
            },
            notMcpEndpointRoute(server.spec.upstream.path),
          ],
        },
      ],
    },
    http_filters: filters,
    ...(o.accessLog ? { access_log: accessLog() } : {}),
  };

  return {
    '@type': LISTENER_TYPE,
    name: LISTENER_NAME,
    address: socketAddress(o.listenAddress, server.spec.listener.port),
    per_connection_buffer_limit_bytes: o.connectionBufferBytes,
    filter_chains: [
      {
        filters: [{ name: 'envoy.filters.network.http_connection_manager', typed_config: hcm }],
        ...(o.tls !== undefined ? { transport_socket: downstreamTls(o.tls) } : {}),
      },
    ],
  };
}

function bootstrap(server: MCPServer, o: ResolvedOptions): JsonObject {
  const source = (file: string): JsonObject => ({
    path_config_source: { path: `${o.configDir}/${file}`, watched_directory: { path: o.configDir } },
    resource_api_version: 'V3',
  });
  return {
    node: { id: o.nodeId, cluster: 'mcp-warden-sidecar', metadata: { [SERVER_CONTEXT_EXTENSION]: serverKey(server) } },
    admin: { address: socketAddress('127.0.0.1', o.adminPort) },
    dynamic_resources: { cds_config: source(CDS_FILE), lds_config: source(LDS_FILE) },
    overload_manager: {
      resource_monitors: [
        {
          name: 'envoy.resource_monitors.global_downstream_max_connections',
          typed_config: {
            '@type': 'type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig',
            max_active_downstream_connections: o.maxDownstreamConnections,
          },
        },
      ],
    },
  };
}

type ResolvedOptions = Required<Omit<RenderOptions, 'tls'>> & Pick<RenderOptions, 'tls'>;

function resolve(server: MCPServer, options: RenderOptions): ResolvedOptions {
  if (!Number.isInteger(options.maxBodyBytes) || options.maxBodyBytes <= 0) {
    throw new Error(`maxBodyBytes must be a positive integer (the policy's spec.protocol.maxBodyBytes), got ${options.maxBodyBytes}`);
  }
  const configDir = (options.configDir ?? DEFAULT_CONFIG_DIR).replace(/\/+$/, '');
  if (!configDir.startsWith('/')) throw new Error(`configDir must be an absolute path, got '${configDir}'`);
  return {
    authzAddress: options.authzAddress,
    maxBodyBytes: options.maxBodyBytes,
    configDir,
    listenAddress: options.listenAddress ?? '0.0.0.0',
    adminPort: options.adminPort ?? 9901,
    accessLog: options.accessLog ?? true,
    timeoutMs: options.timeoutMs ?? 1000,
    statusOnAuthzError: options.statusOnAuthzError ?? 503,
    streamIdleTimeoutMs: options.streamIdleTimeoutMs ?? 3_600_000,
    requestTimeoutMs: options.requestTimeoutMs ?? 60_000,
    connectionBufferBytes: options.connectionBufferBytes ?? 65_536,
    maxDownstreamConnections: options.maxDownstreamConnections ?? 10_000,
    maxRequestHeadersKb: options.maxRequestHeadersKb ?? 60,
    maxRequestHeaders: options.maxRequestHeaders ?? 100,
    nodeId: options.nodeId ?? serverKey(server),
    tls: options.tls,
  };
}

/** A file-based xDS document; its version is the content hash (shown in /config_dump). */
function discoveryResponse(resources: JsonObject[]): JsonObject {
  const version = createHash('sha256').update(JSON.stringify(resources)).digest('hex').slice(0, 16);
  return { version_info: version, resources };
}

export function renderEnvoyConfig(server: MCPServer, options: RenderOptions): EnvoySidecarConfig {
  const o = resolve(server, options);
  const clusters: JsonObject[] = [
    { '@type': CLUSTER_TYPE, ...upstreamCluster(server, o.connectionBufferBytes) },
    { '@type': CLUSTER_TYPE, ...authzCluster(o.authzAddress) },
  ];
  const jwt = server.spec.auth?.jwt;
  if (jwt !== undefined) clusters.push({ '@type': CLUSTER_TYPE, ...jwksCluster(jwt.jwksUri) });
  return {
    configDir: o.configDir,
    bootstrap: bootstrap(server, o),
    lds: discoveryResponse([listener(server, o)]),
    cds: discoveryResponse(clusters),
  };
}

/**
 * The same config as one static bootstrap (no file watching): for `envoy --mode validate`,
 * which does not load dynamic resources, and for runs that never update in place.
 */
export function staticBootstrap(config: EnvoySidecarConfig): JsonObject {
  const strip = (doc: JsonObject): JsonObject[] => {
    const resources = doc.resources;
    if (!Array.isArray(resources)) return [];
    return resources.map((r) => {
      const { '@type': _type, ...rest } = r as JsonObject;
      return rest;
    });
  };
  const { dynamic_resources: _dynamic, ...rest } = config.bootstrap;
  return { ...rest, static_resources: { listeners: strip(config.lds), clusters: strip(config.cds) } };
}
