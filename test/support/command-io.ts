/** Helpers for tests that run commands in-process: captured output, a temp folder for inputs. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import type { CommandIO } from '../../authz/cli/command-io.js';

export interface CapturedIO extends CommandIO {
  out: string;
  err: string;
}

export function captureIO(stdin = ''): CapturedIO {
  const io: CapturedIO = {
    out: '',
    err: '',
    stdout: (text) => {
      io.out += text;
    },
    stderr: (text) => {
      io.err += text;
    },
    readStdin: async () => stdin,
  };
  return io;
}

/**
 * A temp folder created before the file's tests and removed after them; `write` puts a file
 * there and returns its path, `path` names one that need not exist.
 */
export function tempInputs(prefix: string): { write(name: string, text: string): Promise<string>; path(name: string): string } {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return {
    path: (name) => join(dir, name),
    write: async (name, text) => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
  };
}
