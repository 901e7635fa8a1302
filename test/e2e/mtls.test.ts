/**
 * Client certificates on the real wire: Envoy terminates mutual TLS, forwards the verified
 * peer certificate to the authz service (ext_authz include_peer_certificate), and a tool
 * rule's `principals` admits only the agent whose certificate names it (URI SAN).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { fetchWithClientCertificate, makeTestPki, type TestPki } from '../support/certs.js';
import { envoyForTests } from '../support/envoy.js';
import { SAMPLE_ARGUMENT_RULES } from '../support/manifests.js';
import { startSampleServerProcess, type RunningMcpServer } from '../support/mcp-servers.js';
import { connect, expectDenied, startProtectedStack, type ProtectedStack } from './stack.js';

const envoy = envoyForTests();
const ANALYST = 'spiffe://warden.test/agent/analyst';
const INTERN = 'spiffe://warden.test/agent/intern';

describe.skipIf(!envoy.available)('mutual TLS at Envoy, certificate principal judged by MCP Warden', () => {
  let dir: string;
  let pki: TestPki;
  let upstream: RunningMcpServer;
  let stack: ProtectedStack;
  const as = (uri: string): { fetch: typeof fetch } => ({ fetch: fetchWithClientCertificate({ ca: pki.caCert, ...pki.client(uri) }) });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mw-mtls-'));
    pki = makeTestPki(dir, [ANALYST, INTERN]);
    upstream = await startSampleServerProcess(join(dir, 'sandbox'));
    stack = await startProtectedStack({
      upstream,
      name: 'mtls',
      arguments: SAMPLE_ARGUMENT_RULES,
      tls: { certificateChainPath: pki.serverCert, privateKeyPath: pki.serverKey, clientCaPath: pki.caCert, requireClientCertificate: true },
      ruleExtras: { query: { principals: [ANALYST] } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('refuses the TLS handshake without a client certificate', async () => {
    const anonymous = fetchWithClientCertificate({ ca: pki.caCert });
    await expect(connect(stack.protectedUrl, undefined, { fetch: anonymous })).rejects.toThrow();
  });

  it('admits the certificate the rule names and refuses another one, both properly signed', async () => {
    expect(stack.protectedUrl.startsWith('https://')).toBe(true);
    const analyst = await connect(stack.protectedUrl, undefined, as(ANALYST));
    const rows = (await analyst.client.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) AS n FROM customers' } })) as CallToolResult;
    expect(JSON.stringify(rows.content)).toContain('35');
    await analyst.client.close();

    const intern = await connect(stack.protectedUrl, undefined, as(INTERN));
    const readme = (await intern.client.callTool({ name: 'read_file', arguments: { path: 'public/readme.txt' } })) as CallToolResult;
    expect(JSON.stringify(readme.content)).toContain('public');
    const denial = await expectDenied(() => intern.client.callTool({ name: 'query', arguments: { sql: 'SELECT 1' } }));
    expect(denial).toMatchObject({ status: 403, stage: 'authorization' });
    await intern.client.close();
  });
});
