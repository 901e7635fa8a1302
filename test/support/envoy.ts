/**
 * The real Envoy for tests. Finding, installing and running it is product code shared with
 * `mcp-warden demo` (authz/runtime/); this module adds what only tests need.
 */
import { ENVOY_MISSING, findEnvoy } from '../../authz/runtime/envoy-binary.js';

export { cacheDir, ENVOY_MISSING, findEnvoy, installEnvoy, requireEnvoy, validateEnvoyConfig, type InstallEnvoyOptions } from '../../authz/runtime/envoy-binary.js';
export { startEnvoy, type RunningEnvoy, type StartEnvoyOptions } from '../../authz/runtime/envoy-sidecar.js';
export { packageRoot as repoRoot } from '../../authz/runtime/package-root.js';

/**
 * For test files: whether Envoy suites can run here. Under CI they must: a missing binary
 * is an error there, never a skip.
 */
export function envoyForTests(): { available: boolean; path: string | undefined } {
  const path = findEnvoy();
  if (path === undefined && process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false') {
    throw new Error(`${ENVOY_MISSING} (CI=true: Envoy tests must not be skipped; scripts/install-deps.sh installs it)`);
  }
  return { available: path !== undefined, path };
}
