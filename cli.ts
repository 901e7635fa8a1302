#!/usr/bin/env node
/** `mcp-warden` entry point: runs the subcommand named on the command line. */
import { main } from './commands.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`mcp-warden: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
