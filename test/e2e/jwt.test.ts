/**
 * `spec.auth.jwt` on the real wire: Envoy's jwt_authn verifies bearer tokens against a JWKS
 * it fetches, refuses requests without a valid one (401), and hands the verified payload to
 * the authz service as metadata, where a policy's CEL `when` on `claims` decides per tool.
 */
import { createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { envoyForTests } from '../support/envoy.js';
import { SAMPLE_ARGUMENT_RULES } from '../support/manifests.js';
import { startSampleServerProcess, type RunningMcpServer } from '../support/mcp-servers.js';
import { connect, expectDenied, startProtectedStack, type ProtectedStack } from './stack.js';

const envoy = envoyForTests();
const ISSUER = 'https://idp.mcp-warden.test';
const AUDIENCE = 'warden-jwt-e2e';

const b64url = (data: Buffer | string): string => Buffer.from(data).toString('base64url');

/** An RS256 JWT (RFC 7519 / RFC 7515 compact serialisation). */
function jwt(key: KeyObject, claims: Record<string, unknown>): string {
  const header = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', kid: 'e2e-key' }));
  const payload = b64url(JSON.stringify(claims));
  const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), key);
  return `${header}.${payload}.${b64url(signature)}`;
}

describe.skipIf(!envoy.available)('JWT verified by Envoy, claims judged by MCP Warden', () => {
  let sandbox: string;
  let jwks: Server;
  let upstream: RunningMcpServer;
  let stack: ProtectedStack;
  let privateKey: KeyObject;
  const now = Math.floor(Date.now() / 1000);
  const claims = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({ iss: ISSUER, aud: AUDIENCE, sub: 'agent-7', iat: now, exp: now + 3600, ...extra });

  beforeAll(async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    privateKey = createPrivateKey(pair.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    const jwk = { ...pair.publicKey.export({ format: 'jwk' }), kid: 'e2e-key', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    jwks.listen(0, '127.0.0.1');
    await once(jwks, 'listening');
    const jwksPort = (jwks.address() as { port: number }).port;

    sandbox = await mkdtemp(join(tmpdir(), 'mw-jwt-'));
    upstream = await startSampleServerProcess(sandbox);
    stack = await startProtectedStack({
      upstream,
      name: 'jwt',
      arguments: SAMPLE_ARGUMENT_RULES,
      auth: { jwt: { issuer: ISSUER, audiences: [AUDIENCE], jwksUri: `http://127.0.0.1:${jwksPort}/jwks.json` } },
      ruleExtras: { query: { when: 'claims.groups.exists(g, g == "analysts")' } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await upstream?.stop();
    jwks?.close();
    if (sandbox !== undefined) await rm(sandbox, { recursive: true, force: true });
  });

  it('refuses a client without a token or with a forged, expired or foreign one at Envoy', async () => {
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases: Array<[string, string | undefined, number]> = [
      ['no token', undefined, 401],
      ['forged signature', jwt(forger, claims()), 401],
      ['expired', jwt(privateKey, claims({ exp: now - 60 })), 401],
      ['other issuer', jwt(privateKey, claims({ iss: 'https://evil.example' })), 401],
      // jwt_authn answers a valid token for another audience with 403.
      ['other audience', jwt(privateKey, claims({ aud: 'someone-else' })), 403],
    ];
    for (const [what, token, status] of cases) {
      const error = await connect(stack.protectedUrl, undefined, token !== undefined ? { bearer: token } : {}).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, what).toBeInstanceOf(StreamableHTTPError);
      expect({ what, status: (error as StreamableHTTPError).code }).toEqual({ what, status });
    }
  });

  it('lets a valid token through and judges the verified claims in the policy', async () => {
    const analyst = await connect(stack.protectedUrl, undefined, { bearer: jwt(privateKey, claims({ groups: ['analysts'] })) });
    const rows = (await analyst.client.callTool({ name: 'query', arguments: { sql: 'SELECT count(*) AS n FROM customers' } })) as CallToolResult;
    expect(JSON.stringify(rows.content)).toContain('35');
    await analyst.client.close();

    const viewer = await connect(stack.protectedUrl, undefined, { bearer: jwt(privateKey, claims({ groups: ['viewers'] })) });
    // Other tools are open to any authenticated agent …
    const readme = (await viewer.client.callTool({ name: 'read_file', arguments: { path: 'public/readme.txt' } })) as CallToolResult;
    expect(JSON.stringify(readme.content)).toContain('public');
    // … but query requires the analysts group from the token.
    const denial = await expectDenied(() => viewer.client.callTool({ name: 'query', arguments: { sql: 'SELECT 1' } }));
    expect(denial).toMatchObject({ status: 403, stage: 'authorization' });
    await viewer.client.close();
  });
});
