import { describe, expect, it } from 'vitest';
import { addressPrefix, clientAddress, compileTrustedProxies, redactedAddress, sourceKey } from './address.js';

describe('client address', () => {
  const trusted = compileTrustedProxies(['10.0.0.0/8', 'fd00::/8', '192.0.2.10']);
  it('believes forwarded addresses only from trusted hops, right to left', () => {
    expect(clientAddress('10.1.1.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('10.1.1.1', '198.51.100.7, 10.2.2.2', trusted)).toBe('198.51.100.7');
    expect(clientAddress('192.0.2.10', '1.2.3.4, 198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientAddress('fd00::1', '2001:db8::5', trusted)).toBe('2001:db8::5');
    expect(clientAddress('10.1.1.1', '10.2.2.2, 10.3.3.3', trusted)).toBe('10.2.2.2');
  });
  it('ignores forwarded addresses from untrusted peers and garbage from trusted ones', () => {
    expect(clientAddress('203.0.113.5', '198.51.100.7', trusted)).toBe('203.0.113.5');
    expect(clientAddress('203.0.113.5', '198.51.100.7', undefined)).toBe('203.0.113.5');
    expect(clientAddress('10.1.1.1', 'not-an-ip', trusted)).toBe('10.1.1.1');
    expect(clientAddress('::ffff:203.0.113.5', undefined, trusted)).toBe('203.0.113.5');
  });
  it('rejects a malformed trustedProxies entry naming the field', () => {
    expect(() => compileTrustedProxies(['10.0.0.0/8', 'corp-net'])).toThrow(/spec.trustedProxies: 'corp-net'/);
  });
  it('cuts addresses to the bound prefix', () => {
    expect(addressPrefix('203.0.113.77', 24, 64)).toBe('203.0.113.0/24');
    expect(addressPrefix('203.0.113.77', 32, 64)).toBe('203.0.113.77');
    expect(addressPrefix('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 32, 64)).toBe('2001:db8:1:2:0:0:0:0/64');
    expect(addressPrefix('2001:db8::1', 32, 48)).toBe('2001:db8:0:0:0:0:0:0/48');
    expect(addressPrefix('2001:db8::1', 32, 128)).toBe('2001:db8::1');
  });
});

describe('source keys and redacted addresses', () => {
  it('counts IPv4 per address and IPv6 per /64, and redacts to /24 and /48', () => {
    expect(sourceKey('203.0.113.5')).toBe('203.0.113.5');
    expect(sourceKey('2001:db8:1:2:aaaa::1')).toBe(sourceKey('2001:db8:1:2:bbbb::9'));
    expect(sourceKey('2001:db8:1:2::1')).not.toBe(sourceKey('2001:db8:1:3::1'));
    expect(sourceKey('not an address')).toBe('');
    expect(redactedAddress('203.0.113.5')).toBe('203.0.113.x');
    expect(redactedAddress('2001:db8:1:2::1')).toBe('2001:db8:1:0:0:0:0:0/48');
  });
});
