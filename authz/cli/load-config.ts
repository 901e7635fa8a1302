/**
 * Loads `--config PATH` (a manifest file or directory) into the snapshot the engine runs,
 * exactly as the authz service does, and prints whatever stops it in the format of
 * `mcp-warden policy validate` (`file:doc N: field.path: message`).
 */
import { loadManifests, type LoadResult } from '../config/load.js';
import { formatConfigError } from '../config/policy-validate-command.js';
import { buildSnapshot, type SnapshotBuild } from '../config/snapshot.js';
import { initSqlParser } from '../detectors/sql.js';
import type { Snapshot } from '../pipeline/compiled.js';
import type { CommandIO } from './command-io.js';

export interface LoadedConfig {
  readonly load: LoadResult;
  readonly build: SnapshotBuild;
  readonly snapshot: Snapshot;
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
  for (const problem of build.problems) {
    const origin = load.origins.find((o) => o.resource === problem.resource);
    const message = `${problem.message} (${problem.resource})`;
    const line = origin === undefined
      ? `${problem.resource}: ${problem.path}: ${problem.message}`
      : formatConfigError({ file: origin.file, document: origin.document, path: problem.path, message, reason: 'invalid', resource: problem.resource });
    io.stderr(`${line}\n`);
  }
  for (const warning of build.warnings) io.stderr(`warning: ${warning}\n`);
  if (build.snapshot === undefined) return undefined;
  return { load, build, snapshot: build.snapshot };
}
