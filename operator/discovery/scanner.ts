/**
 * Loads the tool-poisoning scanner (authz/scan/scan-tool.ts, shared with `mcp-warden tools
 * scan`) for discovery. Findings are trimmed to what MCPServer.status.tools[].findings holds
 * (at most 64 per tool, excerpts of at most 1024 characters). When the scanner module is
 * absent, discovery still records digests, without findings.
 */
import type { ToolDefinition, ToolFinding } from '../../authz/api/types.js';

export type ToolScanner = (tool: ToolDefinition) => ToolFinding[];

const SCANNER_MODULE = '../../authz/scan/scan-tool.js';
const MAX_FINDINGS = 64;
const MAX_EXCERPT = 1024;

const SEVERITIES = new Set(['low', 'medium', 'high', 'critical']);

export function toStatusFindings(raw: readonly unknown[]): ToolFinding[] {
  const findings: ToolFinding[] = [];
  for (const item of raw.slice(0, MAX_FINDINGS)) {
    if (typeof item !== 'object' || item === null) continue;
    const { rule, severity, excerpt } = item as Record<string, unknown>;
    if (typeof rule !== 'string' || rule === '') continue;
    findings.push({
      rule: rule.slice(0, 128),
      ...(typeof severity === 'string' && SEVERITIES.has(severity) ? { severity: severity as ToolFinding['severity'] } : {}),
      ...(typeof excerpt === 'string' ? { excerpt: excerpt.slice(0, MAX_EXCERPT) } : {}),
    });
  }
  return findings;
}

export async function loadToolScanner(): Promise<ToolScanner | undefined> {
  let mod: { scanTool?: unknown };
  try {
    mod = (await import(SCANNER_MODULE)) as { scanTool?: unknown };
  } catch {
    return undefined;
  }
  const scan = mod.scanTool;
  if (typeof scan !== 'function') return undefined;
  return (tool) => {
    const result = (scan as (t: ToolDefinition) => { findings?: unknown })(tool);
    return Array.isArray(result.findings) ? toStatusFindings(result.findings) : [];
  };
}
