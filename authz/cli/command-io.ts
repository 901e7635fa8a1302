/**
 * What the offline subcommands (`explain`, `policy test`, `tools approve`) touch of the
 * process: output streams and standard input, injected so tests run them in-process.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly readStdin: () => Promise<string>;
}

export const PROCESS_IO: CommandIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    return Buffer.concat(chunks).toString('utf8');
  },
};

/** Unreadable or malformed input: the command prints the message and exits 2. */
export class InputError extends Error {}

/** Bad usage: as InputError, and the command prints its usage line too. */
export class UsageError extends InputError {}

/** Whether `err` is bad input (exit 2) rather than a fault, and whether usage should be shown. */
export function inputErrorKind(err: unknown): 'usage' | 'input' | undefined {
  // node:util parseArgs throws TypeErrors with ERR_PARSE_ARGS_* codes.
  if (err instanceof UsageError || (err instanceof TypeError && 'code' in err && String(err.code).startsWith('ERR_PARSE_ARGS'))) return 'usage';
  return err instanceof InputError ? 'input' : undefined;
}

/** Reads a file, or standard input for `-`; a failure is a UsageError naming the file. */
export async function readInput(path: string, io: CommandIO): Promise<string> {
  try {
    return path === '-' ? await io.readStdin() : await readFile(path, 'utf8');
  } catch (err) {
    const code = typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : '';
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EISDIR' ? 'is a directory' : err instanceof Error ? err.message : String(err);
    throw new InputError(`cannot read ${path}: ${why}`);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `--output json|text` (also `--output=json`); anything else is a UsageError. */
export function parseOutputFormat(value: string | undefined): 'json' | 'text' {
  if (value === undefined || value === 'text') return 'text';
  if (value === 'json') return 'json';
  throw new UsageError(`--output must be json or text, not "${value}"`);
}

const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/** What parseArgs gives back for `options` plus `-h/--help`, positionals allowed. */
export type ParsedCommandArgs<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O & typeof HELP_OPTION; allowPositionals: true }>
>;

export interface OfflineCommand<O extends ParseArgsOptionsConfig> {
  /** As the user types it after `mcp-warden`, e.g. `policy test`. */
  readonly name: string;
  readonly usage: string;
  readonly options: O;
  /** More errors that count as bad input (exit 2) rather than faults. */
  readonly isInputError?: (err: unknown) => boolean;
  run(args: ParsedCommandArgs<O>): Promise<number>;
}

/**
 * Runs an offline subcommand: parses argv with `-h/--help` (which prints the usage), and turns
 * bad usage or input into its message on stderr, plus the usage line for usage errors, and
 * exit code 2. Any other error is a fault and propagates.
 */
export async function runOfflineCommand<const O extends ParseArgsOptionsConfig>(command: OfflineCommand<O>, argv: string[], io: CommandIO): Promise<number> {
  try {
    const args = parseArgs({ args: argv, options: { ...command.options, ...HELP_OPTION }, allowPositionals: true }) as ParsedCommandArgs<O>;
    if ((args.values as { help?: boolean }).help === true) {
      io.stdout(`${command.usage}\n`);
      return 0;
    }
    return await command.run(args);
  } catch (err) {
    const kind = command.isInputError?.(err) === true ? 'input' : inputErrorKind(err);
    if (kind === undefined || !(err instanceof Error)) throw err;
    io.stderr(`mcp-warden ${command.name}: ${err.message}\n${kind === 'usage' ? `${command.usage}\n` : ''}`);
    return 2;
  }
}
