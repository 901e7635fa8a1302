/**
 * A small X.509 issuer: a self-signed CA and certificates it signs. The operator uses it for
 * the admission webhook's serving certificate (the CA goes into the webhook configuration's
 * caBundle); the test cluster uses it for the API server's certificates. Keys are RSA from
 * node:crypto (native, fast); node-forge only builds and signs the certificate structure.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import forge from 'node-forge';

export interface CertificateAndKey {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions {
  commonName: string;
  /** Subject alternative names: DNS names and IP addresses (both optional). */
  hosts?: string[];
  organizations?: string[];
  usage: 'server' | 'client' | 'server-and-client';
  notBefore: Date;
  notAfter: Date;
}

function newRsaKey(): { publicPem: string; privatePem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    privatePem: privateKey.export({ type: 'pkcs1', format: 'pem' }).toString(),
  };
}

function serialNumber(): string {
  // RFC 5280 §4.1.2.2: positive, at most 20 octets; a leading 0x01 keeps the sign bit clear.
  return `01${randomBytes(15).toString('hex')}`;
}

function subject(commonName: string, organizations: string[] = []): forge.pki.CertificateField[] {
  return [
    ...organizations.map((value) => ({ shortName: 'O', value })),
    { shortName: 'CN', value: commonName },
  ];
}

function sign(
  cert: forge.pki.Certificate,
  signerKeyPem: string,
): string {
  cert.sign(forge.pki.privateKeyFromPem(signerKeyPem), forge.md.sha256.create());
  // forge writes CRLF line ends; PEM tools and Kubernetes use LF.
  return forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
}

export function createCertificateAuthority(commonName: string, notBefore: Date, notAfter: Date): CertificateAndKey {
  const key = newRsaKey();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(key.publicPem);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = notBefore;
  cert.validity.notAfter = notAfter;
  cert.setSubject(subject(commonName));
  cert.setIssuer(subject(commonName));
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  return { certPem: sign(cert, key.privatePem), keyPem: key.privatePem };
}

export function issueCertificate(ca: CertificateAndKey, options: IssueOptions): CertificateAndKey {
  const key = newRsaKey();
  const caCert = forge.pki.certificateFromPem(ca.certPem);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(key.publicPem);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = options.notBefore;
  cert.validity.notAfter = options.notAfter;
  cert.setSubject(subject(options.commonName, options.organizations));
  cert.setIssuer(caCert.subject.attributes);
  const altNames = (options.hosts ?? []).map((host) =>
    isIP(host) !== 0 ? { type: 7, ip: host } : { type: 2, value: host },
  );
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    {
      name: 'extKeyUsage',
      serverAuth: options.usage !== 'client',
      clientAuth: options.usage !== 'server',
    },
    ...(altNames.length > 0 ? [{ name: 'subjectAltName', altNames }] : []),
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  return { certPem: sign(cert, ca.keyPem), keyPem: key.privatePem };
}

/** When the certificate in `certPem` stops being valid. */
export function certificateExpiry(certPem: string): Date {
  return new Date(new X509Certificate(certPem).validTo);
}
