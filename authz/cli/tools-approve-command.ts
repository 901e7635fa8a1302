/**
 * `mcp-warden tools approve --policy FILE [--name POLICY] [--rule NAME…|--all]
 *  (--from FILE|- | --url http://HOST:PORT/mcp) [--force] [--digest-only] [--dry-run]`:
 * approves tool definitions as a server serves them, by writing pins into an MCPPolicy (so
 * approvals go through Git review). Tools come from a `tools/list` result (any form
 * `tools scan` reads) or from the live server, listed as an MCP client would (paginated).
 * Each tool is scanned for poisoning first; one with findings is refused unless `--force`.
 * Which tools: `--rule NAME` (repeatable), `--all` served tools, or by default the served
 * tools the policy already has rules for (re-approval after a change).
 * The file keeps its comments and layout; it is validated before and after writing.
 * Exit 0; 1 when a tool was refused (findings, or not served); 2 on bad input.
 */
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ToolDefinition } from '../api/types.js';
import { scanTool } from '../scan/scan-tool.js';
import { parseToolsInput } from '../scan/tools-scan-command.js';
import { listTools } from '../../operator/discovery/list-tools.js';
import { type CommandIO, InputError, PROCESS_IO, readInput, runOfflineCommand, UsageError } from './command-io.js';
import { manifestTextProblems } from './load-config.js';
import { PinError, pinTools, readPolicyRules, type PinOutcome } from './pin-policy.js';

const USAGE =
  'usage: mcp-warden tools approve --policy FILE [--name POLICY] [--rule NAME…|--all] (--from FILE|- | --url http://HOST:PORT/mcp) [--force] [--digest-only] [--dry-run]';

/** Served tools as the definition fields the digest covers (extra fields such as icons are not pinned). */
function definitionOf(tool: ToolDefinition): ToolDefinition {
  const def: ToolDefinition = { name: tool.name };
  if (typeof tool.title === 'string') def.title = tool.title;
  if (typeof tool.description === 'string') def.description = tool.description;
  for (const key of ['inputSchema', 'outputSchema', 'annotations'] as const) {
    const value = tool[key];
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) def[key] = value;
  }
  return def;
}

async function servedTools(from: string | undefined, url: string | undefined, io: CommandIO): Promise<{ tools: ToolDefinition[]; source: string }> {
  if (url !== undefined) {
    let endpoint: URL;
    try {
      endpoint = new URL(url);
    } catch {
      throw new UsageError(`--url ${url} is not a URL (http://HOST:PORT/mcp)`);
    }
    if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') throw new UsageError(`--url must be http:// or https://, not ${endpoint.protocol}`);
    try {
      return { tools: (await listTools(url)).tools, source: url };
    } catch (err) {
      throw new InputError(err instanceof Error ? err.message : String(err));
    }
  }
  const file = from as string;
  const source = file === '-' ? '<stdin>' : file;
  try {
    return { tools: parseToolsInput(await readInput(file, io), source).map(definitionOf), source };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(err instanceof Error ? err.message : String(err));
  }
}

function describeOutcome(o: PinOutcome): string {
  if (o.action === 'unchanged') return `unchanged ${o.tool} ${o.to}`;
  if (o.action === 're-pinned') return `re-pinned ${o.tool}: digest changed from ${o.from} to ${o.to}`;
  return `pinned ${o.tool} ${o.to}${o.addedRule ? ' (added rule, action: Allow)' : ''}`;
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o7777;
  // Same directory, then rename: a watcher (the authz service's hot reload) never sees half a file.
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.approve.tmp`);
  await writeFile(temp, text, { mode });
  await rename(temp, path);
}

export async function runToolsApproveCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  return runOfflineCommand(
    {
      name: 'tools approve',
      usage: USAGE,
      options: {
        policy: { type: 'string', short: 'p' },
        name: { type: 'string' },
        rule: { type: 'string', multiple: true },
        all: { type: 'boolean' },
        from: { type: 'string' },
        url: { type: 'string' },
        force: { type: 'boolean' },
        'digest-only': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
      },
      isInputError: (err) => err instanceof PinError,
      run: async ({ values, positionals }) => {
        if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
        if (values.policy === undefined) throw new UsageError('--policy FILE is required (the MCPPolicy YAML to write pins into)');
        if ((values.from === undefined) === (values.url === undefined)) throw new UsageError('give exactly one of --from FILE|- and --url URL');
        const ruleNames = values.rule ?? [];
        if (values.all === true && ruleNames.length > 0) throw new UsageError('--rule and --all exclude each other');

        const policyFile = values.policy;
        const original = await readInput(policyFile, io);
        const before = manifestTextProblems(policyFile, original);
        if (before.length > 0) {
          for (const line of before) io.stderr(`${line}\n`);
          throw new InputError(`${policyFile} does not validate; fix it before approving tools`);
        }
        const { policy, rules } = readPolicyRules(original, policyFile, values.name);

        const { tools, source } = await servedTools(values.from, values.url, io);
        const served = new Map<string, ToolDefinition>();
        for (const tool of tools) {
          if (served.has(tool.name)) throw new InputError(`${source} lists tool ${tool.name} twice`);
          served.set(tool.name, tool);
        }

        let refused = 0;
        let wanted: string[];
        if (values.all === true) wanted = [...served.keys()];
        else if (ruleNames.length > 0) wanted = [...new Set(ruleNames)];
        else {
          wanted = rules.filter((name) => served.has(name));
          const unlisted = [...served.keys()].filter((name) => !rules.includes(name));
          if (unlisted.length > 0) io.stdout(`not in ${policy}: ${unlisted.join(', ')} (approve with --rule NAME or --all)\n`);
          if (wanted.length === 0) {
            io.stderr(`nothing to approve: ${source} serves none of the tools ${policy} has rules for\n`);
            return 1;
          }
        }

        const approved: ToolDefinition[] = [];
        for (const name of wanted) {
          const tool = served.get(name);
          if (tool === undefined) {
            refused++;
            io.stdout(`refused ${name}: not served by ${source}\n`);
            continue;
          }
          const { findings } = scanTool(tool);
          if (findings.length > 0) {
            io.stdout(`${values.force === true ? 'approving despite findings (--force)' : 'refused'} ${name}: ${findings.length} finding${findings.length === 1 ? '' : 's'}\n`);
            for (const f of findings) io.stdout(`  ${f.severity} ${f.rule}${f.span !== undefined ? ` in ${f.span.field}` : ''}: ${f.message}: ${JSON.stringify(f.excerpt)}\n`);
            if (values.force !== true) {
              refused++;
              continue;
            }
          }
          approved.push(tool);
        }

        const result = pinTools(original, policyFile, approved, { policyName: values.name, digestOnly: values['digest-only'] === true });
        for (const outcome of result.outcomes) io.stdout(`${describeOutcome(outcome)}\n`);
        const changed = result.outcomes.some((o) => o.action !== 'unchanged');
        if (changed && values['digest-only'] === true) {
          io.stdout('note: a digest-only pin carries no inputSchema: arguments are not schema-checked and argument kinds are not inferred from it\n');
        }

        if (changed) {
          const problems = manifestTextProblems(policyFile, result.text);
          if (problems.length > 0) {
            for (const line of problems) io.stderr(`${line}\n`);
            io.stderr(`mcp-warden tools approve: the pinned policy would not validate; ${policyFile} left unchanged\n`);
            return 2;
          }
          if (values['dry-run'] === true) {
            io.stdout(`dry run: ${policyFile} not written\n`);
          } else {
            await writeAtomically(policyFile, result.text);
            // Read back what is on disk and load it as the service would: never leave a broken policy unnoticed.
            const after = manifestTextProblems(policyFile, await readFile(policyFile, 'utf8'));
            if (after.length > 0) {
              for (const line of after) io.stderr(`${line}\n`);
              io.stderr(`mcp-warden tools approve: ${policyFile} was written but does not validate; revert it\n`);
              return 2;
            }
            io.stdout(`wrote ${policyFile} (${policy})\n`);
          }
        } else {
          io.stdout(`no changes to ${policyFile}\n`);
        }
        return refused > 0 ? 1 : 0;
      },
    },
    argv,
    io,
  );
}
