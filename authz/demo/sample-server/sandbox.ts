/**
 * The sample server's sandbox folder: `data/` with public and private files the tools read,
 * and `backups/` where run_backup writes its archives.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export async function prepareSandbox(dir: string): Promise<void> {
  await mkdir(join(dir, 'data', 'public'), { recursive: true });
  await mkdir(join(dir, 'data', 'private'), { recursive: true });
  await mkdir(join(dir, 'backups'), { recursive: true });
  await writeFile(join(dir, 'data', 'public', 'readme.txt'), 'Welcome to the MCP Warden demo. This file is public.\n');
  await writeFile(join(dir, 'data', 'public', 'report-2026-q3.csv'), 'region,revenue\nEMEA,1200\nAPAC,900\n');
  await writeFile(join(dir, 'data', 'private', 'salaries.csv'), 'name,salary\nAda,100\nGrace,120\n');
}
