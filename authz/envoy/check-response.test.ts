import { describe, expect, it } from 'vitest';
import { deny, ErrorCode, type Denial, type Verdict } from '../pipeline/verdict.js';
import { toCheckResponse } from './check-response.js';
import { loadProtos, methodOf } from './proto.js';

interface DecodedHeader {
  header: { key: string; value: string };
  append: { value: boolean } | null;
}
interface Decoded {
  status: { code: number };
  http_response: 'ok_response' | 'denied_response';
  denied_response?: { status: { code: string }; headers: DecodedHeader[]; body: string };
  ok_response?: { headers: DecodedHeader[]; headers_to_remove: string[]; response_headers_to_add: DecodedHeader[] };
}

/** What Envoy receives: the response encoded with the real proto and decoded again. */
function asEnvoySeesIt(verdict: Verdict): Decoded {
  const method = methodOf(loadProtos().authorizationService, 'Check');
  return method.responseDeserialize(method.responseSerialize(toCheckResponse(verdict))) as Decoded;
}

function verdict(partial: Partial<Verdict>): Verdict {
  return {
    allowed: true,
    denial: undefined,
    audited: [],
    warnings: [],
    jsonRpcId: 1,
    serverKey: 'demo/files',
    policyKey: 'demo/files-strict',
    tool: undefined,
    method: 'tools/call',
    sessionId: undefined,
    ...partial,
  };
}

function denied(denial: Denial, jsonRpcId: Verdict['jsonRpcId']): Verdict {
  return verdict({ allowed: false, denial, jsonRpcId });
}

function headerMap(headers: DecodedHeader[]): Record<string, string> {
  return Object.fromEntries(headers.map((h) => [h.header.key, h.header.value]));
}

const cases: Array<{ name: string; denial: Denial; http: string; id: Verdict['jsonRpcId'] }> = [
  {
    name: 'protocol → 400',
    denial: deny('protocol', 'invalid-jsonrpc-version', 'protocol', ErrorCode.InvalidRequest, 'jsonrpc must be "2.0"'),
    http: 'BadRequest',
    id: 'req-abc',
  },
  {
    name: 'policy → 403',
    denial: deny('arguments', 'path-traversal', 'policy', ErrorCode.ArgumentRejected, 'argument path escapes its allowed roots', {
      data: { argument: '/path', tool: 'read_file' },
    }),
    http: 'Forbidden',
    id: 42,
  },
  {
    name: 'size → 413',
    denial: deny('transport', 'body-too-large', 'size', ErrorCode.PayloadTooLarge, 'body of 2000000 bytes exceeds maxBodyBytes 1048576'),
    http: 'PayloadTooLarge',
    id: 0,
  },
  {
    name: 'throttle → 429',
    denial: deny('behavior', 'rate', 'throttle', ErrorCode.Throttled, 'too many requests in this session', {
      retryAfterSeconds: 30,
    }),
    http: 'TooManyRequests',
    id: 9,
  },
];

describe('toCheckResponse, denials', () => {
  for (const c of cases) {
    it(`${c.name} with a JSON-RPC error body carrying the request's own id`, () => {
      const r = asEnvoySeesIt(denied(c.denial, c.id));
      expect(r.status.code).toBe(7);
      expect(r.http_response).toBe('denied_response');
      expect(r.denied_response?.status.code).toBe(c.http);
      const headers = headerMap(r.denied_response?.headers ?? []);
      expect(headers['content-type']).toBe('application/json');
      expect(headers['x-mcp-warden-rule']).toBe(c.denial.rule);
      const body = JSON.parse(r.denied_response?.body ?? '') as {
        jsonrpc: string;
        id: unknown;
        error: { code: number; message: string; data: Record<string, unknown> };
      };
      expect(body.jsonrpc).toBe('2.0');
      expect(body.id).toBe(c.id);
      expect(body.error.code).toBe(c.denial.code);
      expect(body.error.message).toBe(c.denial.message);
      expect(body.error.data).toMatchObject({ stage: c.denial.stage, rule: c.denial.rule, ...c.denial.data });
    });
  }

  it('uses id null when the request had none', () => {
    const r = asEnvoySeesIt(denied(cases[0]!.denial, null));
    expect(JSON.parse(r.denied_response?.body ?? '')).toMatchObject({ id: null });
    expect(r.denied_response?.body).toContain('"id":null');
  });

  it('sends Retry-After on throttle, rounded up to whole seconds, and only on throttle', () => {
    const throttled = deny('behavior', 'loop', 'throttle', ErrorCode.Throttled, 'loop detected', { retryAfterSeconds: 2.2 });
    const r = asEnvoySeesIt(denied(throttled, 3));
    expect(headerMap(r.denied_response?.headers ?? [])['retry-after']).toBe('3');
    expect(JSON.parse(r.denied_response?.body ?? '').error.data.retryAfterSeconds).toBe(3);
    const noHint = deny('behavior', 'rate', 'throttle', ErrorCode.Throttled, 'slow down');
    expect(headerMap(asEnvoySeesIt(denied(noHint, 3)).denied_response?.headers ?? [])['retry-after']).toBe('30');
    const forbidden = asEnvoySeesIt(denied(cases[1]!.denial, 1));
    expect(headerMap(forbidden.denied_response?.headers ?? [])['retry-after']).toBeUndefined();
  });

  it('keeps stage and rule authoritative even if data carries the same names', () => {
    const sneaky = deny('session', 'id-replay', 'policy', ErrorCode.SessionRejected, 'replayed id', {
      data: { stage: 'none', rule: 'nothing', window: 32 },
    });
    const body = JSON.parse(asEnvoySeesIt(denied(sneaky, 5)).denied_response?.body ?? '');
    expect(body.error.data).toEqual({ stage: 'session', rule: 'id-replay', window: 32 });
  });

  it('fails closed when a verdict denies without a denial', () => {
    const r = asEnvoySeesIt(verdict({ allowed: false, denial: undefined, jsonRpcId: 4 }));
    expect(r.status.code).toBe(7);
    expect(r.denied_response?.status.code).toBe('Forbidden');
    const body = JSON.parse(r.denied_response?.body ?? '');
    expect(body).toMatchObject({ id: 4, error: { code: -32603, data: { stage: 'internal', rule: 'internal-error' } } });
  });
});

describe('toCheckResponse, allows', () => {
  it('allows with status OK and no headers when there is nothing to add', () => {
    const r = asEnvoySeesIt(verdict({}));
    expect(r.status.code).toBe(0);
    expect(r.http_response).toBe('ok_response');
    expect(r.ok_response?.headers).toEqual([]);
    expect(r.ok_response?.response_headers_to_add).toEqual([]);
  });

  it('strips a client-sent session header when there is no session to pass on', () => {
    expect(asEnvoySeesIt(verdict({})).ok_response?.headers_to_remove).toEqual(['x-mcp-warden-session']);
    expect(asEnvoySeesIt(verdict({ warnings: [deny('behavior', 'burst', 'throttle', ErrorCode.Throttled, 'b', { warnOnly: true })] })).ok_response?.headers_to_remove).toEqual(['x-mcp-warden-session']);
    expect(asEnvoySeesIt(verdict({ sessionId: 's-1' })).ok_response?.headers_to_remove).toEqual([]);
  });

  it('passes the session upstream, replacing any client-sent value', () => {
    const r = asEnvoySeesIt(verdict({ sessionId: 'sess-77' }));
    expect(r.ok_response?.headers).toEqual([
      expect.objectContaining({ header: expect.objectContaining({ key: 'x-mcp-warden-session', value: 'sess-77' }), append: { value: false } }),
    ]);
  });

  it('reports warn-level findings to the client in x-mcp-warden-warning', () => {
    const burst = deny('behavior', 'burst', 'throttle', ErrorCode.Throttled, 'burst after calm', { warnOnly: true });
    const loop = deny('behavior', 'loop', 'throttle', ErrorCode.Throttled, 'repeated call', { warnOnly: true });
    const r = asEnvoySeesIt(verdict({ warnings: [burst, loop, burst] }));
    expect(r.status.code).toBe(0);
    expect(headerMap(r.ok_response?.response_headers_to_add ?? [])).toEqual({ 'x-mcp-warden-warning': 'burst, loop' });
  });

  it('allows audit-mode findings without telling the client', () => {
    const audited = deny('arguments', 'sql-injection', 'policy', ErrorCode.ArgumentRejected, 'stacked query');
    const r = asEnvoySeesIt(verdict({ audited: [audited] }));
    expect(r.status.code).toBe(0);
    expect(r.ok_response?.response_headers_to_add).toEqual([]);
  });
});
