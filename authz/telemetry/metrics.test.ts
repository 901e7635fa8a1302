import { afterEach, describe, expect, it } from 'vitest';
import { deny, ErrorCode, type Verdict } from '../pipeline/verdict.js';
import { createMetrics } from './metrics.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';

function verdict(partial: Partial<Verdict>): Verdict {
  return {
    allowed: true,
    denial: undefined,
    audited: [],
    warnings: [],
    jsonRpcId: 1,
    serverKey: 'demo/files',
    policyKey: undefined,
    tool: undefined,
    method: undefined,
    sessionId: undefined,
    ...partial,
  };
}

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('metrics', () => {
  it('counts verdicts by outcome, stage and rule, and serves them over HTTP', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const sqli = deny('arguments', 'sql-injection', 'policy', ErrorCode.ArgumentRejected, 'stacked query');
    metrics.observeCheck(verdict({}), 0.0002);
    metrics.observeCheck(verdict({}), 0.0003);
    metrics.observeCheck(verdict({ allowed: false, denial: sqli }), 0.004);
    // An audit-mode finding still allows: counted once as allow and once as audit.
    metrics.observeCheck(verdict({ audited: [sqli] }), 0.0001);
    metrics.configReload('success', 7);
    metrics.configReload('error');

    server = await startMetricsServer('127.0.0.1:0', metrics.registry);
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('mcp_warden_verdicts_total{server="demo/files",stage="none",rule="none",outcome="allow"} 3');
    expect(text).toContain('mcp_warden_verdicts_total{server="demo/files",stage="arguments",rule="sql-injection",outcome="deny"} 1');
    expect(text).toContain('mcp_warden_verdicts_total{server="demo/files",stage="arguments",rule="sql-injection",outcome="audit"} 1');
    expect(text).toContain('mcp_warden_check_duration_seconds_bucket{le="0.00025"} 2');
    expect(text).toContain('mcp_warden_check_duration_seconds_count 4');
    expect(text).toContain('mcp_warden_config_reloads_total{result="success"} 1');
    expect(text).toContain('mcp_warden_config_reloads_total{result="error"} 1');
    expect(text).toContain('mcp_warden_config_generation 7');
  });

  it('answers /healthz and refuses other paths', async () => {
    server = await startMetricsServer('127.0.0.1:0', createMetrics({ processMetrics: false }).registry);
    expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${server.port}/nope`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('hands other paths to the admin handler when one is given', async () => {
    server = await startMetricsServer('127.0.0.1:0', createMetrics({ processMetrics: false }).registry, (req, res) => {
      if (req.url !== '/sessions') return false;
      res.writeHead(200, { 'content-type': 'application/json' }).end('[]');
      return true;
    });
    const sessions = await fetch(`http://127.0.0.1:${server.port}/sessions`, { method: 'POST' });
    expect(sessions.status).toBe(200);
    expect(await sessions.text()).toBe('[]');
    expect((await fetch(`http://127.0.0.1:${server.port}/other`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${server.port}/metrics`)).status).toBe(200);
  });

  it('bounds the server label so an unexpected flood of names cannot explode cardinality', async () => {
    const metrics = createMetrics({ processMetrics: false, maxServers: 2 });
    for (const key of ['a/one', 'a/two', 'a/three', 'a/four']) metrics.observeCheck(verdict({ serverKey: key }), 0.0001);
    const text = await metrics.registry.metrics();
    expect(text).toContain('server="a/one"');
    expect(text).toContain('server="a/two"');
    expect(text).not.toContain('server="a/three"');
    expect(text).toContain('mcp_warden_verdicts_total{server="other",stage="none",rule="none",outcome="allow"} 2');
  });

  it('uses its own registry, so two services do not share counters', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: true });
    a.observeCheck(verdict({}), 0.0001);
    expect(await b.registry.metrics()).not.toContain('outcome="allow"');
    expect(await b.registry.metrics()).toContain('process_cpu_user_seconds_total');
  });
});
