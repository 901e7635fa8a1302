/**
 * The values a session binds to on first use (`session.bind`). Secrets are hashed; the source
 * address is cut to the policy's prefix allowance so a client moving inside its own network
 * (`sourcePrefix: {ipv4: 24}`) keeps its session. A verified JWT binds by identity (issuer,
 * subject, client), so a refreshed token of the same principal and client still matches while
 * someone else's token does not; an unverified bearer token binds by its hash.
 */
import type { SessionBinding, SessionSpec } from '../api/types.js';
import type { CheckContext } from '../pipeline/context.js';
import { addressPrefix } from './address.js';
import { shortHash } from './hash.js';
import type { SessionIdentity } from './identity.js';

export function bindingValue(ctx: CheckContext, identity: SessionIdentity, binding: SessionBinding, spec: SessionSpec): string {
  switch (binding) {
    case 'sourceAddress':
      return addressPrefix(identity.address, spec.sourcePrefix?.ipv4 ?? 32, spec.sourcePrefix?.ipv6 ?? 128);
    case 'userAgent':
      return identity.userAgent === '' ? '' : shortHash('ua', identity.userAgent);
    case 'clientCertificate': {
      const cert = ctx.request.source.certificate ?? ctx.request.source.principal ?? '';
      return cert === '' ? '' : shortHash('cert', cert);
    }
    case 'token': {
      const claims = ctx.request.claims;
      if (claims !== undefined && typeof claims.sub === 'string') {
        const client = typeof claims.client_id === 'string' ? claims.client_id : typeof claims.azp === 'string' ? claims.azp : '';
        return shortHash('jwt', String(claims.iss ?? ''), claims.sub, client);
      }
      const auth = ctx.request.headers.authorization ?? '';
      return auth === '' ? '' : shortHash('bearer', auth);
    }
    case 'principal':
      return identity.principal === '' ? '' : shortHash('principal', identity.principal);
  }
}

/**
 * Bindings that mean something for this identity: a session derived from the principal or the
 * address is already keyed by it, and a principal legitimately works from several devices, so
 * only `Mcp-Session-Id` sessions bind to address, user agent and credentials.
 */
export function bindingsFor(ctx: CheckContext, identity: SessionIdentity, spec: SessionSpec): Array<[string, string]> {
  if (identity.kind !== 'mcp') return [];
  return spec.bind.map((b) => [b, bindingValue(ctx, identity, b, spec)]);
}
