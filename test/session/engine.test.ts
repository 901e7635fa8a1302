/**
 * Stages 7 and 8 inside the real decision engine: the verdict carries the session reference,
 * a hijack is denied with the session error, an Audit-mode policy records it instead, and a
 * throttle comes back as a 429-class denial with Retry-After seconds.
 */
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../authz/pipeline/decide.js';
import type { Snapshot } from '../../authz/pipeline/compiled.js';
import { createStatefulChecks } from '../../authz/stages/stateful.js';
import { MemoryStateStore } from '../../authz/state/memory-store.js';
import { buildPolicy, buildRequest, buildServer } from '../support/context.js';
import { T0 } from './fixtures.js';

function engineFor(mode: 'Enforce' | 'Audit') {
  const policy = buildPolicy({ mode, spec: { behavior: [{ detector: 'rate', threshold: 2, window: '60s', action: 'Throttle' }] } });
  const server = buildServer([policy]);
  const snapshot: Snapshot = { generation: 1, loadedAtMs: T0, servers: new Map([[server.key, server]]) };
  return createEngine({ snapshot: () => snapshot, stateful: createStatefulChecks({ store: new MemoryStateStore() }) });
}

function toolsList(id: number, address: string) {
  return buildRequest({
    body: { jsonrpc: '2.0', id, method: 'tools/list', params: {} },
    headers: { 'mcp-session-id': 'engine-sess-1', 'mcp-protocol-version': '2025-06-18', 'user-agent': 'agent/1' },
    source: { address },
    receivedAtMs: T0 + id,
  });
}

describe('stateful checks in the decision engine', () => {
  it('denies a hijack and a flood, and names the session in every verdict', async () => {
    const engine = engineFor('Enforce');
    const ok = await engine.decide(toolsList(1, '203.0.113.5'));
    expect(ok).toMatchObject({ allowed: true });
    expect(ok.sessionId).toMatch(/^m\./);
    const hijack = await engine.decide(toolsList(2, '198.51.100.7'));
    expect(hijack).toMatchObject({ allowed: false, sessionId: ok.sessionId, denial: { stage: 'session', rule: 'session-binding-mismatch' } });
    expect((await engine.decide(toolsList(3, '203.0.113.5'))).allowed).toBe(true);
    const throttled = await engine.decide(toolsList(4, '203.0.113.5'));
    expect(throttled).toMatchObject({ allowed: false, denial: { rule: 'rate-limit', class: 'throttle', retryAfterSeconds: 30 } });
  });

  it('audits instead of denying in Audit mode', async () => {
    const engine = engineFor('Audit');
    await engine.decide(toolsList(1, '203.0.113.5'));
    const hijack = await engine.decide(toolsList(2, '198.51.100.7'));
    expect(hijack.allowed).toBe(true);
    expect(hijack.audited).toMatchObject([{ rule: 'session-binding-mismatch' }]);
  });
});
