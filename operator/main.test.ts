import { describe, expect, it, vi } from 'vitest';
import { runOperatorCommand } from './main.js';

describe('mcp-warden operator command line', () => {
  it('prints usage on --help and refuses unknown or invalid flags with exit 2', async () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(await runOperatorCommand(['--help'])).toBe(0);
      expect(String(out.mock.calls[0]?.[0])).toContain('--leader-elect');
      expect(await runOperatorCommand(['--bogus'])).toBe(2);
      expect(await runOperatorCommand(['--webhook-failure-policy', 'Maybe'])).toBe(2);
      expect(String(err.mock.calls.at(-1)?.[0])).toContain('Fail or Ignore');
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
