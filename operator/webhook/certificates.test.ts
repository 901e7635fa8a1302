import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { certificateExpiry, createCertificateAuthority, issueCertificate } from './certificates.js';

const now = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-02-01T00:00:00Z');

describe('certificates', () => {
  const ca = createCertificateAuthority('mcp-warden-test-ca', now, later);

  it('issues a serving certificate that the CA verifies, with DNS and IP names', () => {
    const leaf = issueCertificate(ca, {
      commonName: 'webhook',
      hosts: ['mcp-warden-webhook.mcp-warden.svc', '127.0.0.1'],
      usage: 'server',
      notBefore: now,
      notAfter: later,
    });
    const cert = new X509Certificate(leaf.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.checkHost('mcp-warden-webhook.mcp-warden.svc')).toBe('mcp-warden-webhook.mcp-warden.svc');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('evil.example')).toBeUndefined();
    expect(caCert.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(certificateExpiry(leaf.certPem).toISOString()).toBe(later.toISOString());
  });

  it('does not verify against a different CA', () => {
    const other = createCertificateAuthority('other', now, later);
    const leaf = issueCertificate(ca, { commonName: 'x', usage: 'client', notBefore: now, notAfter: later });
    expect(new X509Certificate(leaf.certPem).verify(new X509Certificate(other.certPem).publicKey)).toBe(false);
  });
});
