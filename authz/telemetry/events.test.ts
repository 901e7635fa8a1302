import { describe, expect, it } from 'vitest';
import type { WardenRequest } from '../pipeline/request.js';
import { deny, ErrorCode, type Verdict } from '../pipeline/verdict.js';
import { securityEvent } from './events.js';
import { createLogger } from './logger.js';
import { REDACTED } from './redact.js';

function capture(): { lines: Array<Record<string, unknown>>; logger: ReturnType<typeof createLogger> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    level: 'info',
    destination: { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  });
  return { lines, logger };
}

const request: WardenRequest = {
  requestId: 'rid-9',
  httpMethod: 'POST',
  path: '/mcp',
  headers: {
    authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlc2lnbmF0dXJl',
    cookie: 'session=topsecretcookie',
    'content-type': 'application/json',
  },
  body: '{"jsonrpc":"2.0","id":3,"method":"tools/call"}',
  declaredLength: 44,
  source: { address: '10.1.2.3', port: 5000, principal: undefined, certificate: undefined },
  claims: undefined,
  serverKey: 'demo/files',
  receivedAtMs: 0,
};

function verdict(partial: Partial<Verdict>): Verdict {
  return {
    allowed: true,
    denial: undefined,
    audited: [],
    warnings: [],
    jsonRpcId: 3,
    serverKey: 'demo/files',
    policyKey: 'demo/strict',
    tool: 'read_file',
    method: 'tools/call',
    sessionId: 'sess-1',
    ...partial,
  };
}

const traversal = deny('arguments', 'path-traversal', 'policy', ErrorCode.ArgumentRejected, 'path escapes /data/public', {
  excerpt: '../../../../etc/passwd?token=abcd1234efgh&pad=' + 'x'.repeat(100),
});

describe('securityEvent', () => {
  it('logs nothing for a plain allow', () => {
    const { lines, logger } = capture();
    securityEvent(logger, verdict({}), request);
    expect(lines).toEqual([]);
  });

  it('logs an enforced denial at warn with the event fields and a redacted excerpt', () => {
    const { lines, logger } = capture();
    securityEvent(logger, verdict({ allowed: false, denial: traversal }), request);
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(line['level']).toBe(40);
    expect(line).toMatchObject({
      event: 'mcp-warden.verdict',
      outcome: 'deny',
      session: 'sess-1',
      source: '10.1.2.3',
      server: 'demo/files',
      policy: 'demo/strict',
      tool: 'read_file',
      method: 'tools/call',
      stage: 'arguments',
      rule: 'path-traversal',
      code: ErrorCode.ArgumentRejected,
      message: 'path escapes /data/public',
      requestId: 'rid-9',
    });
    const excerpt = line['excerpt'] as string;
    expect(excerpt.startsWith('../../../../etc/passwd?token=')).toBe(true);
    expect(excerpt).toContain(REDACTED);
    expect(excerpt).not.toContain('abcd1234efgh');
    expect(excerpt.length).toBeLessThanOrEqual(64);
  });

  it('logs audit and warn findings at info, alongside an allow', () => {
    const { lines, logger } = capture();
    const audited = deny('arguments', 'prompt-injection', 'policy', ErrorCode.ArgumentRejected, 'instruction override');
    const warned = deny('behavior', 'burst', 'throttle', ErrorCode.Throttled, 'burst after calm', { warnOnly: true });
    securityEvent(logger, verdict({ audited: [audited], warnings: [warned] }), request);
    expect(lines.map((l) => [l['level'], l['outcome'], l['rule']])).toEqual([
      [30, 'audit', 'prompt-injection'],
      [30, 'warn', 'burst'],
    ]);
  });

  it('never writes Authorization or Cookie values', () => {
    const { lines, logger } = capture();
    securityEvent(logger, verdict({ allowed: false, denial: traversal }), request);
    // Even a careless log of the whole request is censored by the logger.
    logger.warn({ request }, 'debug dump');
    const text = JSON.stringify(lines);
    expect(text).not.toContain('eyJhbGciOiJIUzI1NiJ9');
    expect(text).not.toContain('topsecretcookie');
    expect(text).toContain('application/json');
  });
});
