import { describe, expect, it } from 'vitest';
import type { JsonRpcMessage } from '../pipeline/context.js';
import { decodeMirroredHeader } from './headers.js';
import { KNOWN_REVISIONS, revisionTable } from './revisions.js';
import { resolveProtocolVersion } from './version.js';

const request = (method: string, params?: Record<string, unknown>): JsonRpcMessage => ({ kind: 'request', id: 1, method, params });
const modernMeta = (version: string) => ({ _meta: { 'io.modelcontextprotocol/protocolVersion': version, 'io.modelcontextprotocol/clientCapabilities': {} } });

describe('resolveProtocolVersion', () => {
  it('uses params.protocolVersion for initialize, ignoring the header', () => {
    expect(resolveProtocolVersion({ 'mcp-protocol-version': '2025-06-18' }, [request('initialize', { protocolVersion: '2025-11-25' })])).toEqual({ ok: true, version: '2025-11-25', source: 'initialize' });
  });

  it('uses the MCP-Protocol-Version header, and 2025-03-26 without one', () => {
    expect(resolveProtocolVersion({ 'mcp-protocol-version': '2025-06-18' }, [request('tools/list')])).toMatchObject({ ok: true, version: '2025-06-18', source: 'header' });
    expect(resolveProtocolVersion({}, [request('tools/list')])).toMatchObject({ ok: true, version: '2025-03-26', source: 'default' });
    expect(resolveProtocolVersion({}, [])).toMatchObject({ ok: true, version: '2025-03-26' });
  });

  it('uses _meta in the stateless era and requires the header to agree', () => {
    const message = request('tools/list', modernMeta('2026-07-28'));
    expect(resolveProtocolVersion({ 'mcp-protocol-version': '2026-07-28' }, [message])).toEqual({ ok: true, version: '2026-07-28', source: 'meta' });
    const variants: Array<Record<string, string>> = [{}, { 'mcp-protocol-version': '2025-11-25' }];
    for (const headers of variants) {
      const result = resolveProtocolVersion(headers, [message]);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.denial.rule).toBe('protocol-version-mismatch');
    }
  });

  it('refuses initialize that claims the stateless revision anywhere', () => {
    const cases: Array<[Record<string, string>, JsonRpcMessage]> = [
      [{}, request('initialize', { protocolVersion: '2026-07-28' })],
      [{ 'mcp-protocol-version': '2026-07-28' }, request('initialize', { protocolVersion: '2025-11-25' })],
      [{}, request('initialize', { protocolVersion: '2025-11-25', ...modernMeta('2026-07-28') })],
    ];
    for (const [headers, message] of cases) {
      const result = resolveProtocolVersion(headers, [message]);
      expect(result.ok ? undefined : result.denial.rule).toBe('initialize-not-allowed');
    }
  });
});

describe('revision tables', () => {
  it('know five revisions, with batches only in 2025-03-26 and responses only in session revisions', () => {
    expect(KNOWN_REVISIONS).toEqual(['2024-11-05', '2025-03-26', '2025-06-18', '2025-11-25', '2026-07-28']);
    expect(KNOWN_REVISIONS.filter((v) => revisionTable(v)?.batches)).toEqual(['2025-03-26']);
    expect(KNOWN_REVISIONS.filter((v) => !revisionTable(v)?.clientResponses)).toEqual(['2026-07-28']);
    expect(revisionTable('2026-07-28')?.requests.has('initialize')).toBe(false);
    expect(revisionTable('2025-11-25')?.requests.has('tasks/result')).toBe(true);
  });
});

describe('decodeMirroredHeader', () => {
  it('passes plain ASCII through and decodes the Base64 sentinel form', () => {
    expect(decodeMirroredHeader('read_file')).toBe('read_file');
    expect(decodeMirroredHeader('=?base64?SGVsbG8sIOS4lueVjA==?=')).toBe('Hello, 世界');
  });

  it('rejects malformed values: bad Base64, invalid UTF-8, control or non-ASCII characters', () => {
    expect(decodeMirroredHeader('=?base64?SGVsbG8*?=')).toBeUndefined();
    expect(decodeMirroredHeader(`=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=`)).toBeUndefined();
    expect(decodeMirroredHeader('a\nb')).toBeUndefined();
    expect(decodeMirroredHeader('résumé')).toBeUndefined();
  });
});
