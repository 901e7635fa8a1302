/**
 * The webhook's TLS material, kept in a Secret so restarts and replicas share it (and the
 * caBundle the API server trusts does not change on every restart). A long-lived CA signs
 * a short-lived serving certificate; the serving certificate is re-issued once a third of
 * its lifetime is left, the CA once a fifth of its lifetime is left. While a new CA rolls
 * in, the bundle holds old and new, so the API server trusts both certificates in flight.
 */
import { X509Certificate } from 'node:crypto';
import { isAlreadyExists, isConflict, type KubeClient, type KubeObject } from '../runtime/kube-client.js';
import { SECRETS } from '../runtime/resources.js';
import { createCertificateAuthority, issueCertificate, type CertificateAndKey } from './certificates.js';

export interface WebhookTls {
  certPem: string;
  keyPem: string;
  /** PEM bundle for the webhook configuration's caBundle. */
  caBundlePem: string;
}

export interface TlsOptions {
  namespace: string;
  secretName: string;
  /** DNS names and IPs the API server uses to reach the webhook. */
  hosts: string[];
  now?: () => Date;
  caLifetimeMs?: number;
  servingLifetimeMs?: number;
}

const DAY = 24 * 3600_000;

interface SecretObject extends KubeObject {
  data?: Record<string, string>;
}

function b64(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}
function unb64(text: string | undefined): string {
  return text === undefined ? '' : Buffer.from(text, 'base64').toString('utf8');
}

function remainingFraction(certPem: string, now: Date): number {
  try {
    const cert = new X509Certificate(certPem);
    const from = new Date(cert.validFrom).getTime();
    const to = new Date(cert.validTo).getTime();
    return (to - now.getTime()) / (to - from);
  } catch {
    return -1;
  }
}

function coversHosts(certPem: string, hosts: string[]): boolean {
  try {
    const cert = new X509Certificate(certPem);
    return hosts.every((h) => (/^[\d.]+$|:/.test(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
  } catch {
    return false;
  }
}

/** Tolerates clock skew with the API server: a minute, or a twentieth of a short (test) lifetime. */
function backdate(lifetimeMs: number): number {
  return Math.min(60_000, lifetimeMs / 20);
}

export function splitBundle(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

/** One certificate per block, LF line ends, newest first as given. */
function joinBundle(pems: string[]): string {
  return pems.map((p) => `${p.trim()}\n`).join('');
}

/** The caBundle stored in the Secret (what every replica publishes), without renewing anything. */
export async function storedCaBundle(client: KubeClient, options: Pick<TlsOptions, 'namespace' | 'secretName'>): Promise<string | undefined> {
  const secret = await client.getOrUndefined<SecretObject>(SECRETS, options.namespace, options.secretName);
  const bundle = unb64(secret?.data?.['ca-bundle.crt']);
  return bundle === '' ? undefined : bundle;
}

/** The CA in `bundle` that signed `certPem`. */
export function issuerIn(certPem: string, bundle: string): string | undefined {
  try {
    const cert = new X509Certificate(certPem);
    return splitBundle(bundle).find((pem) => {
      const ca = new X509Certificate(pem);
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    });
  } catch {
    return undefined;
  }
}

/** Reads the Secret, renews what is due, writes it back (optimistically), returns what to serve. */
export async function ensureWebhookTls(client: KubeClient, options: TlsOptions): Promise<WebhookTls> {
  const now = (options.now ?? (() => new Date()))();
  const caLifetime = options.caLifetimeMs ?? 5 * 365 * DAY;
  const servingLifetime = options.servingLifetimeMs ?? 90 * DAY;
  for (let attempt = 0; attempt < 5; attempt++) {
    const secret = await client.getOrUndefined<SecretObject>(SECRETS, options.namespace, options.secretName);
    const data = secret?.data ?? {};
    let ca: CertificateAndKey = { certPem: unb64(data['ca.crt']), keyPem: unb64(data['ca.key']) };
    let bundle = unb64(data['ca-bundle.crt']) || ca.certPem;
    let serving: CertificateAndKey = { certPem: unb64(data['tls.crt']), keyPem: unb64(data['tls.key']) };
    let changed = false;
    if (ca.certPem === '' || remainingFraction(ca.certPem, now) < 0.2) {
      const old = ca.certPem !== '' && remainingFraction(ca.certPem, now) > 0 ? [ca.certPem] : [];
      ca = createCertificateAuthority('mcp-warden-webhook-ca', new Date(now.getTime() - backdate(caLifetime)), new Date(now.getTime() + caLifetime));
      bundle = joinBundle([ca.certPem, ...old]);
      serving = { certPem: '', keyPem: '' };
      changed = true;
    } else {
      // Drop CAs from the bundle once they have expired.
      const live = splitBundle(bundle).filter((pem) => remainingFraction(pem, now) > 0);
      const pruned = joinBundle(live);
      if (pruned !== bundle) {
        bundle = pruned;
        changed = true;
      }
    }
    if (serving.certPem === '' || remainingFraction(serving.certPem, now) < 1 / 3 || !coversHosts(serving.certPem, options.hosts)) {
      serving = issueCertificate(ca, {
        commonName: options.hosts[0] ?? 'mcp-warden-webhook',
        hosts: options.hosts,
        usage: 'server',
        notBefore: new Date(now.getTime() - backdate(servingLifetime)),
        notAfter: new Date(now.getTime() + servingLifetime),
      });
      changed = true;
    }
    const result = { certPem: serving.certPem, keyPem: serving.keyPem, caBundlePem: bundle };
    if (!changed) return result;
    const body: SecretObject = {
      metadata: { name: options.secretName, namespace: options.namespace, ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}) },
      type: 'kubernetes.io/tls',
      data: {
        'tls.crt': b64(serving.certPem),
        'tls.key': b64(serving.keyPem),
        'ca.crt': b64(ca.certPem),
        'ca.key': b64(ca.keyPem),
        'ca-bundle.crt': b64(bundle),
      },
    };
    try {
      if (secret === undefined) await client.create(SECRETS, options.namespace, body);
      else await client.replace(SECRETS, { apiVersion: 'v1', kind: 'Secret', ...body });
      return result;
    } catch (err) {
      // Another replica renewed first: use what it wrote.
      if (isConflict(err) || isAlreadyExists(err)) continue;
      throw err;
    }
  }
  throw new Error(`could not settle the webhook certificate in Secret ${options.namespace}/${options.secretName}`);
}
