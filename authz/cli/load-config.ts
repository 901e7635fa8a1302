/**
 * Loads `--config PATH` (a manifest file or directory) into the snapshot the engine runs,
 * exactly as the authz service does, and prints whatever stops it in the format of
 * `mcp-warden policy validate` (`file:doc N: field.path: message`).
 */
import { applyServerDefaults } from '../api/defaults.js';
import type { MCPServer } from '../api/types.js';
import { loadManifests, parseManifestTexts, type LoadResult, type ResourceOrigin } from '../config/load.js';
import { formatConfigError } from '../config/policy-validate-command.js';
import { buildSnapshot, type CompileProblem, type SnapshotBuild } from '../config/snapshot.js';
import { initSqlParser } from '../detectors/sql.js';
import type { Snapshot } from '../pipeline/compiled.js';
import type { CommandIO } from './command-io.js';

export interface LoadedConfig {
  readonly load: LoadResult;
  readonly build: SnapshotBuild;
  readonly snapshot: Snapshot;
}

/** A compile problem as `file:doc N: field.path: message (Kind ns/name)`. */
export function formatCompileProblem(problem: CompileProblem, origins: readonly ResourceOrigin[]): string {
  const origin = origins.find((o) => o.resource === problem.resource);
  if (origin === undefined) return `${problem.resource}: ${problem.path}: ${problem.message}`;
  const message = `${problem.message} (${problem.resource})`;
  return formatConfigError({ file: origin.file, document: origin.document, path: problem.path, message, reason: 'invalid', resource: problem.resource });
}

/**
 * Returns the compiled configuration, or undefined after printing every error to stderr.
 * Warnings (e.g. a policy whose server is absent) go to stderr too but do not stop it.
 */
export async function loadConfigSnapshot(path: string, io: CommandIO, nowMs: number = Date.now()): Promise<LoadedConfig | undefined> {
  // The SQL detector needs its parser before any verdict; load it while the files are read.
  const [load] = await Promise.all([loadManifests(path), initSqlParser()]);
  for (const error of load.errors) io.stderr(`${formatConfigError(error)}\n`);
  if (load.errors.length > 0) return undefined;
  if (load.servers.length === 0) {
    io.stderr(`${path}: no MCPServer in the configuration (${load.policies.length} MCPPolicy); nothing to judge requests for\n`);
    return undefined;
  }
  const build = buildSnapshot(load, 1, nowMs);
  for (const problem of build.problems) io.stderr(`${formatCompileProblem(problem, load.origins)}\n`);
  for (const warning of build.warnings) io.stderr(`warning: ${warning}\n`);
  if (build.snapshot === undefined) return undefined;
  return { load, build, snapshot: build.snapshot };
}

/**
 * Every problem the authz service would refuse `text` for: schema validation, then compiling
 * each policy (CEL, schemas, globs, pins). A policy only compiles against servers it targets,
 * so targets kept in other files are stood in for by default servers.
 */
export function manifestTextProblems(file: string, text: string): string[] {
  const load = parseManifestTexts([[file, text]]);
  if (load.errors.length > 0) return load.errors.map(formatConfigError);
  const servers: MCPServer[] = [...load.servers];
  for (const policy of load.policies) {
    const namespace = policy.metadata.namespace ?? 'default';
    for (const ref of policy.spec.targetRefs) {
      if (servers.some((s) => s.metadata.name === ref.name && (s.metadata.namespace ?? 'default') === namespace)) continue;
      servers.push(applyServerDefaults({ apiVersion: 'mcpwarden.io/v1alpha1', kind: 'MCPServer', metadata: { name: ref.name, namespace }, spec: { upstream: { port: 1 } } }));
    }
  }
  return buildSnapshot({ servers, policies: load.policies }, 1, Date.now()).problems.map((p) => formatCompileProblem(p, load.origins));
}
