import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { MCPServer } from '../api/types.js';
import {
  AUTHZ_CLUSTER,
  JWKS_CLUSTER,
  renderEnvoyConfig,
  staticBootstrap,
  UPSTREAM_CLUSTER,
  type EnvoySidecarConfig,
  type JsonObject,
  type JsonValue,
} from './render.js';
import { envoyConfigFiles, writeEnvoyConfig } from './write.js';

function server(spec: Partial<MCPServer['spec']> = {}): MCPServer {
  return {
    apiVersion: 'mcpwarden.io/v1alpha1',
    kind: 'MCPServer',
    metadata: { name: 'files', namespace: 'demo' },
    spec: { upstream: { port: 8080, path: '/mcp' }, listener: { port: 15080 }, trustedProxies: [], ...spec },
  };
}

const AUTHZ = { host: '127.0.0.1', port: 9191 };

/** Follows a dotted path (`a.0.b`) through the rendered JSON. */
function at(value: JsonValue | undefined, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = value;
  for (const key of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = Array.isArray(cur) ? cur[Number(key)] : cur[key];
  }
  return cur;
}

function listener(config: EnvoySidecarConfig): JsonObject {
  return at(config.lds, 'resources.0') as JsonObject;
}
function hcm(config: EnvoySidecarConfig): JsonObject {
  return at(listener(config), 'filter_chains.0.filters.0.typed_config') as JsonObject;
}
function filterNames(config: EnvoySidecarConfig): string[] {
  return (hcm(config).http_filters as JsonObject[]).map((f) => f.name as string);
}
function filter(config: EnvoySidecarConfig, name: string): JsonObject {
  return (hcm(config).http_filters as JsonObject[]).find((f) => f.name === name)?.typed_config as JsonObject;
}
function cluster(config: EnvoySidecarConfig, name: string): JsonObject | undefined {
  return (config.cds.resources as JsonObject[]).find((c) => c.name === name);
}

describe('renderEnvoyConfig', () => {
  it('listens on spec.listener.port and routes to the upstream port through ext_authz', () => {
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1_048_576 });
    expect(at(listener(config), 'address.socket_address.port_value')).toBe(15080);
    expect(filterNames(config)).toEqual(['envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
    const route = at(hcm(config), 'route_config.virtual_hosts.0.routes.0') as JsonObject;
    expect(at(route, 'route.cluster')).toBe(UPSTREAM_CLUSTER);
    // No overall deadline on the route: SSE responses last as long as the session.
    expect(at(route, 'route.timeout')).toBe('0s');
    const upstream = cluster(config, UPSTREAM_CLUSTER);
    expect(at(upstream, 'type')).toBe('STATIC');
    expect(at(upstream, 'load_assignment.endpoints.0.lb_endpoints.0.endpoint.address.socket_address')).toEqual({ address: '127.0.0.1', port_value: 8080 });
  });

  it('fails closed and buffers the whole body up to the policy limit for ext_authz', () => {
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 65_536, timeoutMs: 250 });
    const authz = filter(config, 'envoy.filters.http.ext_authz');
    expect(authz.failure_mode_allow).toBe(false);
    expect(authz.with_request_body).toEqual({ max_request_bytes: 65_536, allow_partial_message: false, pack_as_bytes: true });
    expect(authz.transport_api_version).toBe('V3');
    expect(authz.include_peer_certificate).toBe(true);
    expect(authz.metadata_context_namespaces).toEqual(['envoy.filters.http.jwt_authn']);
    expect(at(authz, 'grpc_service.envoy_grpc.cluster_name')).toBe(AUTHZ_CLUSTER);
    expect(at(authz, 'grpc_service.timeout')).toBe('0.25s');
    const authzCluster = cluster(config, AUTHZ_CLUSTER);
    expect(at(authzCluster, 'load_assignment.endpoints.0.lb_endpoints.0.endpoint.address.socket_address.port_value')).toBe(9191);
    // gRPC needs HTTP/2 to the authz service.
    const options = at(authzCluster, 'typed_extension_protocol_options') as JsonObject;
    expect(at(options['envoy.extensions.upstreams.http.v3.HttpProtocolOptions'], 'explicit_http_config.http2_protocol_options')).toBeDefined();
  });

  it('routes only the MCP endpoint (exact path) to the server; Envoy answers 404 for anything else', () => {
    const config = renderEnvoyConfig(server({ upstream: { port: 8080, path: '/v1/mcp' } }), { authzAddress: AUTHZ, maxBodyBytes: 1024 });
    const routes = at(hcm(config), 'route_config.virtual_hosts.0.routes') as JsonObject[];
    expect(routes).toHaveLength(2);
    expect(routes[0]?.match).toEqual({ path: '/v1/mcp' });
    expect(at(routes[0], 'route.cluster')).toBe(UPSTREAM_CLUSTER);
    const fallback = routes[1] as JsonObject;
    expect(fallback.match).toEqual({ prefix: '/' });
    expect(fallback.route).toBeUndefined();
    expect(at(fallback, 'direct_response.status')).toBe(404);
    const body = JSON.parse(at(fallback, 'direct_response.body.inline_string') as string) as JsonObject;
    expect(at(body, 'error.data')).toEqual({ stage: 'transport', rule: 'path-not-mcp-endpoint', source: 'envoy' });
    // The authz service is not asked about paths that never reach the server.
    expect((fallback.typed_per_filter_config as JsonObject)['envoy.filters.http.ext_authz']).toMatchObject({ disabled: true });
  });

  it('names the MCPServer in the ext_authz context extension', () => {
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024 });
    const perRoute = at(hcm(config), 'route_config.virtual_hosts.0.routes.0.typed_per_filter_config') as JsonObject;
    expect(at(perRoute['envoy.filters.http.ext_authz'], 'check_settings.context_extensions')).toEqual({ 'mcpwarden.io/server': 'demo/files' });
  });

  it('verifies JWTs before ext_authz when spec.auth.jwt is set, and hands the payload on as metadata', () => {
    const config = renderEnvoyConfig(
      server({ auth: { jwt: { issuer: 'https://idp.example', audiences: ['files-mcp'], jwksUri: 'https://idp.example/keys/jwks.json' } } }),
      { authzAddress: AUTHZ, maxBodyBytes: 1024 },
    );
    expect(filterNames(config)).toEqual(['envoy.filters.http.jwt_authn', 'envoy.filters.http.ext_authz', 'envoy.filters.http.router']);
    const provider = at(filter(config, 'envoy.filters.http.jwt_authn'), 'providers.warden') as JsonObject;
    expect(provider.issuer).toBe('https://idp.example');
    expect(provider.audiences).toEqual(['files-mcp']);
    expect(provider.payload_in_metadata).toBe('jwt_payload');
    expect(provider.forward).toBe(true);
    expect(at(provider, 'remote_jwks.http_uri')).toMatchObject({ uri: 'https://idp.example/keys/jwks.json', cluster: JWKS_CLUSTER });
    const jwks = cluster(config, JWKS_CLUSTER);
    expect(at(jwks, 'type')).toBe('STRICT_DNS');
    expect(at(jwks, 'load_assignment.endpoints.0.lb_endpoints.0.endpoint.address.socket_address')).toEqual({ address: 'idp.example', port_value: 443 });
    expect(at(jwks, 'transport_socket.typed_config.sni')).toBe('idp.example');
  });

  it('without spec.auth there is no JWT filter and no JWKS cluster', () => {
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024 });
    expect(filterNames(config)).not.toContain('envoy.filters.http.jwt_authn');
    expect(cluster(config, JWKS_CLUSTER)).toBeUndefined();
  });

  it('believes X-Forwarded-For only from spec.trustedProxies', () => {
    const direct = hcm(renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024 }));
    expect(direct.use_remote_address).toBe(true);
    expect(direct.xff_num_trusted_hops).toBe(0);
    const proxied = hcm(renderEnvoyConfig(server({ trustedProxies: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7'] }), { authzAddress: AUTHZ, maxBodyBytes: 1024 }));
    expect(proxied.use_remote_address).toBeUndefined();
    expect(at(proxied, 'original_ip_detection_extensions.0.typed_config.xff_trusted_cidrs.cidrs')).toEqual([
      { address_prefix: '10.0.0.0', prefix_len: 8 },
      { address_prefix: 'fd00::', prefix_len: 8 },
      { address_prefix: '192.168.1.7', prefix_len: 32 },
    ]);
  });

  it('rejects a bad trusted proxy and a bad body limit with a message naming the field', () => {
    expect(() => renderEnvoyConfig(server({ trustedProxies: ['proxy.example'] }), { authzAddress: AUTHZ, maxBodyBytes: 1024 })).toThrow(/spec\.trustedProxies: 'proxy\.example'/);
    expect(() => renderEnvoyConfig(server({ trustedProxies: ['10.0.0.0/33'] }), { authzAddress: AUTHZ, maxBodyBytes: 1024 })).toThrow(/prefix length/);
    expect(() => renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
  });

  it('canonicalises paths and limits headers, connections and buffers', () => {
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, connectionBufferBytes: 32_768 });
    const h = hcm(config);
    expect(h.normalize_path).toBe(true);
    expect(h.merge_slashes).toBe(true);
    expect(h.path_with_escaped_slashes_action).toBe('REJECT_REQUEST');
    expect(h.max_request_headers_kb).toBe(60);
    expect(at(h, 'common_http_protocol_options.max_headers_count')).toBe(100);
    expect(listener(config).per_connection_buffer_limit_bytes).toBe(32_768);
    expect(h.stream_idle_timeout).toBe('3600s');
    expect(at(config.bootstrap, 'overload_manager.resource_monitors.0.typed_config.max_active_downstream_connections')).toBe(10_000);
  });

  it('logs JSON lines to stdout unless told not to', () => {
    const withLog = hcm(renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024 }));
    expect(at(withLog, 'access_log.0.name')).toBe('envoy.access_loggers.stdout');
    expect(at(withLog, 'access_log.0.typed_config.log_format.json_format.status')).toBe('%RESPONSE_CODE%');
    const without = hcm(renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, accessLog: false }));
    expect(without.access_log).toBeUndefined();
  });

  it('points the bootstrap at watched LDS/CDS files and versions them by content', () => {
    const a = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, configDir: '/etc/envoy/' });
    expect(at(a.bootstrap, 'dynamic_resources.lds_config.path_config_source')).toEqual({ path: '/etc/envoy/lds.yaml', watched_directory: { path: '/etc/envoy' } });
    expect(at(a.bootstrap, 'dynamic_resources.cds_config.path_config_source.path')).toBe('/etc/envoy/cds.yaml');
    const same = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, configDir: '/etc/envoy' });
    const bigger = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 2048, configDir: '/etc/envoy' });
    expect(same.lds.version_info).toBe(a.lds.version_info);
    expect(bigger.lds.version_info).not.toBe(a.lds.version_info);
    expect(bigger.cds.version_info).toBe(a.cds.version_info);
  });

  it('uses DNS for named hosts and a static address for IPs', () => {
    const config = renderEnvoyConfig(server({ upstream: { port: 8080, path: '/mcp', host: 'localhost' } }), {
      authzAddress: { host: 'mcp-warden-authz.mcp-warden.svc', port: 9191 },
      maxBodyBytes: 1024,
    });
    expect(cluster(config, UPSTREAM_CLUSTER)?.type).toBe('STRICT_DNS');
    expect(cluster(config, AUTHZ_CLUSTER)?.type).toBe('STRICT_DNS');
  });

  it('terminates TLS towards agents and asks for client certificates when given a CA', () => {
    const tls = { certificateChainPath: '/tls/tls.crt', privateKeyPath: '/tls/tls.key', clientCaPath: '/tls/ca.crt', requireClientCertificate: true };
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, tls });
    const socket = at(listener(config), 'filter_chains.0.transport_socket.typed_config') as JsonObject;
    expect(socket['@type']).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext');
    expect(socket.require_client_certificate).toBe(true);
    expect(at(socket, 'common_tls_context.tls_certificates.0')).toEqual({ certificate_chain: { filename: '/tls/tls.crt' }, private_key: { filename: '/tls/tls.key' } });
    expect(at(socket, 'common_tls_context.validation_context.trusted_ca.filename')).toBe('/tls/ca.crt');
    expect(at(listener(renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024 })), 'filter_chains.0.transport_socket')).toBeUndefined();
    expect(() => renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, tls: { ...tls, clientCaPath: undefined } })).toThrow(/clientCaPath/);
  });

  it('renders a single static bootstrap with the same listener and clusters', () => {
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024 });
    const s = staticBootstrap(config);
    expect(s.dynamic_resources).toBeUndefined();
    expect(at(s, 'static_resources.listeners.0.name')).toBe('mcp-warden-ingress');
    expect(at(s, 'static_resources.listeners.0.@type')).toBeUndefined();
    expect((at(s, 'static_resources.clusters') as JsonObject[]).map((c) => c.name)).toEqual([UPSTREAM_CLUSTER, AUTHZ_CLUSTER]);
  });
});

describe('writeEnvoyConfig', () => {
  const dirs: string[] = [];
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
  });

  it('writes the three files, YAML that reads back as the rendered documents, with no leftovers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-sidecar-'));
    dirs.push(dir);
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, configDir: dir });
    const { bootstrapPath } = await writeEnvoyConfig(dir, config);
    expect(bootstrapPath).toBe(join(dir, 'envoy.yaml'));
    expect((await readdir(dir)).sort()).toEqual(['cds.yaml', 'envoy.yaml', 'lds.yaml']);
    expect(parse(await readFile(join(dir, 'lds.yaml'), 'utf8'))).toEqual(config.lds);
    expect(parse(await readFile(join(dir, 'cds.yaml'), 'utf8'))).toEqual(config.cds);
    expect(parse(await readFile(bootstrapPath, 'utf8'))).toEqual(config.bootstrap);
    expect(Object.keys(envoyConfigFiles(config)).sort()).toEqual(['cds.yaml', 'envoy.yaml', 'lds.yaml']);
  });

  it('refuses to write a config rendered for another directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warden-sidecar-'));
    dirs.push(dir);
    const config = renderEnvoyConfig(server(), { authzAddress: AUTHZ, maxBodyBytes: 1024, configDir: '/etc/mcp-warden/envoy' });
    await expect(writeEnvoyConfig(dir, config)).rejects.toThrow(/rendered for \/etc\/mcp-warden\/envoy/);
  });
});
