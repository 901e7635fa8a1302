/**
 * The sample server's sandbox folder: the files read_file serves (paths are relative to it)
 * and `backups/`, where run_backup writes its archives.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function prepareSandbox(dir: string): Promise<void> {
  await mkdir(join(dir, 'public'), { recursive: true });
  await mkdir(join(dir, 'private'), { recursive: true });
  await mkdir(join(dir, 'backups'), { recursive: true });
  await writeFile(join(dir, 'public', 'readme.txt'), 'Welcome to the MCP Warden demo. This file is public.\n');
  await writeFile(join(dir, 'public', 'report-2026-q3.csv'), 'region,revenue\nEMEA,1200\nAPAC,900\n');
  await writeFile(join(dir, 'private', 'salaries.csv'), 'name,salary\nAda,100\nGrace,120\n');
}
