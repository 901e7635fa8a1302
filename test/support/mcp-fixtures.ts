/**
 * Loads the recorded MCP client→server HTTP requests under test/fixtures/mcp/<revision>/
 * (written by test/support/capture-mcp.ts) and turns them into WardenRequest values.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { WardenRequest } from '../../authz/pipeline/request.js';
import type { McpFixture } from './capture-mcp.js';
import { buildRequest } from './context.js';

export type { McpFixture };

export const MCP_FIXTURE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/mcp');

export interface LoadedFixture extends McpFixture {
  /** `<revision>/<file>`, for test names. */
  readonly file: string;
}

/** Every fixture (or those of one revision), in recording order. */
export function loadMcpFixtures(revision?: string): LoadedFixture[] {
  const revisions = revision !== undefined ? [revision] : readdirSync(MCP_FIXTURE_ROOT).sort();
  const out: LoadedFixture[] = [];
  for (const rev of revisions) {
    for (const name of readdirSync(path.join(MCP_FIXTURE_ROOT, rev)).filter((f) => f.endsWith('.json')).sort()) {
      const fixture = JSON.parse(readFileSync(path.join(MCP_FIXTURE_ROOT, rev, name), 'utf8')) as McpFixture;
      out.push({ ...fixture, file: `${rev}/${name}` });
    }
  }
  return out;
}

/** The WardenRequest Envoy would build for a recorded request (exact body bytes). */
export function fixtureRequest(fixture: McpFixture, overrides: { headers?: Record<string, string | undefined> } = {}): WardenRequest {
  const { method, path: urlPath, headers, body } = fixture.request;
  const length = headers['content-length'];
  return buildRequest({
    method,
    path: urlPath,
    // Exactly the recorded headers: no defaults from buildRequest.
    headers: { 'content-type': undefined, accept: undefined, ...headers, ...overrides.headers },
    body: new TextEncoder().encode(body),
    declaredLength: length !== undefined ? Number(length) : undefined,
  });
}
