import { describe, expect, it } from 'vitest';
import { formatListenAddress, parseListenAddress } from './listen-address.js';

describe('HOST:PORT flags (authz --listen, demo --listen/--authz-listen, operator --webhook-listen/--authz-address)', () => {
  it.each([
    ['127.0.0.1:9191', '127.0.0.1', 9191],
    ['0.0.0.0:0', '0.0.0.0', 0],
    ['[::1]:9090', '::1', 9090],
    ['[::]:443', '::', 443],
    ['mcp-warden-authz.mcp-warden.svc:9191', 'mcp-warden-authz.mcp-warden.svc', 9191],
    [':8080', '0.0.0.0', 8080],
    [' localhost:65535 ', 'localhost', 65535],
  ])('reads %s', (value, host, port) => {
    expect(parseListenAddress(value)).toEqual({ host, port });
  });

  it.each(['9191', 'localhost', 'localhost:', 'localhost:65536', 'localhost:-1', '::1:9090', '[::1]9090', 'a:b:1', 'host:12345678'])('refuses %s, naming the flag', (value) => {
    expect(() => parseListenAddress(value, '--authz-listen')).toThrow(/^--authz-listen '.*' is not HOST:PORT/);
  });

  it('writes IPv6 hosts in brackets, as URLs and gRPC targets want them', () => {
    expect(formatListenAddress({ host: '::1', port: 80 })).toBe('[::1]:80');
    expect(formatListenAddress(parseListenAddress('10.0.0.1:15080'))).toBe('10.0.0.1:15080');
  });
});
