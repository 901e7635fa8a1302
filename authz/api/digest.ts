/**
 * Tool definition digest: `sha256:` + hex SHA-256 of the RFC 8785 (JCS) canonical JSON of
 * the definition's identity fields. The same function is used by the authz service, the
 * operator's discovery and `mcp-warden tools scan`, so a pin written by one matches the others.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { ToolDefinition } from './types.js';

/** Fields that define what a tool is (ARCHITECTURE.md "Tool poisoning defence"). */
export const DIGEST_FIELDS = [
  'name',
  'title',
  'description',
  'inputSchema',
  'outputSchema',
  'annotations',
] as const;

export function toolDigest(tool: Partial<ToolDefinition> & { name: string }): string {
  const identity: Record<string, unknown> = {};
  for (const field of DIGEST_FIELDS) {
    const value = tool[field];
    if (value !== undefined) identity[field] = value;
  }
  const canonical = canonicalize(identity);
  if (canonical === undefined) throw new Error(`tool ${tool.name}: definition cannot be canonicalised`);
  return `sha256:${createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

export function isDigest(value: string): boolean {
  return /^sha256:[0-9a-f]{64}$/.test(value);
}
