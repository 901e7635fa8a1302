import { describe, expect, it } from 'vitest';
import { toWardenRequest, type CheckRequest } from './check-request.js';
import { loadProtos, methodOf } from './proto.js';

/**
 * Encodes a CheckRequest the way Envoy would send it (protobuf wire format, via the real
 * proto) and decodes it the way the server receives it, so tests see real-shaped input.
 */
function overTheWire(message: object): CheckRequest {
  const method = methodOf(loadProtos().authorizationService, 'Check');
  return method.requestDeserialize(method.requestSerialize(message)) as CheckRequest;
}

const TOOLS_CALL = JSON.stringify({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: { name: 'read_file', arguments: { path: '/data/public/a.txt' } },
});

function envoyCheck(http: object, extra: object = {}): CheckRequest {
  return overTheWire({
    attributes: {
      source: {
        address: { socket_address: { address: '10.1.2.3', port_value: 53122 } },
        principal: 'spiffe://cluster.local/ns/agents/sa/bot',
        certificate: '-----BEGIN%20CERTIFICATE-----%0AMIIB...',
      },
      destination: { address: { socket_address: { address: '10.1.9.9', port_value: 15080 } } },
      request: {
        time: { seconds: 1760000000, nanos: 0 },
        http: {
          id: '5d1c2b0e-aaaa-bbbb-cccc-1234567890ab',
          method: 'POST',
          path: '/mcp',
          host: 'files.demo.svc',
          scheme: 'http',
          protocol: 'HTTP/1.1',
          ...http,
        },
      },
      context_extensions: { 'mcpwarden.io/server': 'demo/files' },
      ...extra,
    },
  });
}

describe('toWardenRequest', () => {
  it('takes the body from raw_body bytes when Envoy packs it as bytes', () => {
    const bytes = Buffer.from(TOOLS_CALL, 'utf8');
    const req = toWardenRequest(
      envoyCheck({
        headers: { 'content-type': 'application/json', 'content-length': String(bytes.length) },
        raw_body: bytes,
        size: bytes.length,
      }),
      1_000,
    );
    expect(req.body).toBeInstanceOf(Uint8Array);
    expect(Buffer.from(req.body as Uint8Array).toString('utf8')).toBe(TOOLS_CALL);
    expect(req.declaredLength).toBe(bytes.length);
    expect(req.httpMethod).toBe('POST');
    expect(req.path).toBe('/mcp');
    expect(req.receivedAtMs).toBe(1_000);
    expect(req.requestId).toBe('5d1c2b0e-aaaa-bbbb-cccc-1234567890ab');
  });

  it('takes the body from the text field when Envoy sends it as a string', () => {
    const req = toWardenRequest(envoyCheck({ headers: { 'content-type': 'application/json' }, body: TOOLS_CALL }), 0);
    expect(req.body).toBe(TOOLS_CALL);
  });

  it('gives an empty body for a bodiless GET', () => {
    const req = toWardenRequest(envoyCheck({ method: 'GET', headers: { accept: 'text/event-stream' } }), 0);
    expect(req.body).toBe('');
    expect(req.declaredLength).toBeUndefined();
  });

  it('reads the header map form, lower-cases names and prefers raw_value bytes', () => {
    const req = toWardenRequest(
      envoyCheck({
        header_map: {
          headers: [
            { key: ':authority', raw_value: Buffer.from('files.demo.svc') },
            { key: 'Mcp-Session-Id', raw_value: Buffer.from('sess-123') },
            { key: 'accept', value: 'application/json' },
            { key: 'accept', value: 'text/event-stream' },
          ],
        },
      }),
      0,
    );
    expect(req.headers['mcp-session-id']).toBe('sess-123');
    expect(req.headers[':authority']).toBe('files.demo.svc');
    expect(req.headers['accept']).toBe('application/json,text/event-stream');
    expect(req.headers['Mcp-Session-Id']).toBeUndefined();
  });

  it('keeps the map form headers and uses x-request-id when Envoy gives no id', () => {
    const req = toWardenRequest(
      envoyCheck({ id: '', headers: { 'x-request-id': 'rid-1', 'user-agent': 'claude-code/1.0' } }),
      0,
    );
    expect(req.requestId).toBe('rid-1');
    expect(req.headers['user-agent']).toBe('claude-code/1.0');
  });

  it('generates a request id when there is none at all', () => {
    const a = toWardenRequest(envoyCheck({ id: '' }), 0);
    const b = toWardenRequest(envoyCheck({ id: '' }), 0);
    expect(a.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.requestId).not.toBe(b.requestId);
  });

  it('declares the length from http.size when there is no usable content-length', () => {
    expect(toWardenRequest(envoyCheck({ size: 2048, body: 'x' }), 0).declaredLength).toBe(2048);
    expect(toWardenRequest(envoyCheck({ size: -1, body: 'x' }), 0).declaredLength).toBeUndefined();
    expect(
      toWardenRequest(envoyCheck({ headers: { 'content-length': '12abc' }, body: 'x' }), 0).declaredLength,
    ).toBeUndefined();
    expect(toWardenRequest(envoyCheck({ headers: { 'content-length': '99999999' } }), 0).declaredLength).toBe(
      99_999_999,
    );
  });

  it('reads the source peer: address, port, principal and certificate', () => {
    const req = toWardenRequest(envoyCheck({}), 0);
    expect(req.source).toEqual({
      address: '10.1.2.3',
      port: 53122,
      principal: 'spiffe://cluster.local/ns/agents/sa/bot',
      certificate: '-----BEGIN%20CERTIFICATE-----%0AMIIB...',
    });
  });

  it('leaves the peer identity undefined when the connection is plain TCP', () => {
    const req = toWardenRequest(
      overTheWire({ attributes: { source: { address: { socket_address: { address: '::1', port_value: 0 } } } } }),
      0,
    );
    expect(req.source).toEqual({ address: '::1', port: undefined, principal: undefined, certificate: undefined });
  });

  it('turns the verified JWT payload Struct into plain JSON claims', () => {
    const payload = {
      fields: {
        sub: { stringValue: 'user-42' },
        iat: { numberValue: 1760000000 },
        email_verified: { boolValue: true },
        nickname: { nullValue: 'NULL_VALUE' },
        groups: { listValue: { values: [{ stringValue: 'analysts' }, { stringValue: 'ops' }] } },
        org: { structValue: { fields: { id: { numberValue: 9 }, tags: { listValue: { values: [] } } } } },
      },
    };
    const req = toWardenRequest(
      envoyCheck(
        {},
        {
          metadata_context: {
            filter_metadata: {
              'envoy.filters.http.jwt_authn': { fields: { jwt_payload: { structValue: payload } } },
            },
          },
        },
      ),
      0,
    );
    expect(req.claims).toEqual({
      sub: 'user-42',
      iat: 1760000000,
      email_verified: true,
      nickname: null,
      groups: ['analysts', 'ops'],
      org: { id: 9, tags: [] },
    });
  });

  it('reads the payload under a configured key and ignores other keys', () => {
    const metadata = {
      metadata_context: {
        filter_metadata: {
          'envoy.filters.http.jwt_authn': {
            fields: { my_payload: { structValue: { fields: { sub: { stringValue: 'a' } } } } },
          },
        },
      },
    };
    expect(toWardenRequest(envoyCheck({}, metadata), 0).claims).toBeUndefined();
    expect(toWardenRequest(envoyCheck({}, metadata), 0, { jwtPayloadKey: 'my_payload' }).claims).toEqual({ sub: 'a' });
  });

  it('has no claims when the request carried no verified JWT', () => {
    expect(toWardenRequest(envoyCheck({}), 0).claims).toBeUndefined();
  });

  it('keeps a "__proto__" claim as data without touching the prototype', () => {
    const req = toWardenRequest(
      envoyCheck(
        {},
        {
          metadata_context: {
            filter_metadata: {
              'envoy.filters.http.jwt_authn': {
                fields: {
                  jwt_payload: {
                    structValue: { fields: { ['__proto__']: { structValue: { fields: { admin: { boolValue: true } } } } } },
                  },
                },
              },
            },
          },
        },
      ),
      0,
    );
    const claims = req.claims as Record<string, unknown>;
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(claims, '__proto__')?.value).toEqual({ admin: true });
    expect((claims as { admin?: unknown }).admin).toBeUndefined();
    expect(({} as { admin?: unknown }).admin).toBeUndefined();
  });

  it('keeps a "__proto__" header as an ordinary header', () => {
    const req = toWardenRequest(envoyCheck({ headers: { ['__proto__']: 'x', accept: 'application/json' } }), 0);
    expect(Object.keys(req.headers).sort()).toEqual(['__proto__', 'accept']);
    expect(req.headers['accept']).toBe('application/json');
  });

  it('takes the server from the mcpwarden.io/server context extension', () => {
    expect(toWardenRequest(envoyCheck({}), 0).serverKey).toBe('demo/files');
  });

  it('falls back to route metadata for the server, and to undefined without either', () => {
    const routeOnly = overTheWire({
      attributes: {
        route_metadata_context: {
          filter_metadata: { 'mcpwarden.io': { fields: { server: { stringValue: 'demo/db' } } } },
        },
      },
    });
    expect(toWardenRequest(routeOnly, 0).serverKey).toBe('demo/db');
    expect(toWardenRequest(overTheWire({ attributes: {} }), 0).serverKey).toBeUndefined();
  });

  it('copes with an empty CheckRequest', () => {
    const req = toWardenRequest(overTheWire({}), 5);
    expect(req.httpMethod).toBe('');
    expect(req.body).toBe('');
    expect(req.source.address).toBe('');
    expect(req.serverKey).toBeUndefined();
  });
});
