/**
 * `mcp-warden explain --config PATH [--server NS/NAME] [--request FILE|-] [--output json]`:
 * what the configuration does, as the engine compiled it. Without `--request`: per server,
 * its policies (mode, tools.default, detectors, behaviour) and per tool rule the action, the
 * pin (and whether discovery's live digest agrees), each argument's kind with where it came
 * from (the policy, or inferred from the pinned schema and why), the detector action that
 * applies, `when` and principals. With `--request`: the verdict the service would give.
 * Exit 0; 2 on bad usage, unreadable input or an invalid configuration.
 */
import type { BehaviorRule, DetectionSpec, MCPPolicy, ToolAction } from '../api/types.js';
import type { InferenceNote } from '../config/snapshot.js';
import { DETECTOR_BY_KIND } from '../detectors/types.js';
import type { CompiledPolicy, CompiledServer } from '../pipeline/compiled.js';
import { type CommandIO, InputError, parseOutputFormat, PROCESS_IO, readInput, runOfflineCommand, UsageError } from './command-io.js';
import { loadConfigSnapshot, type LoadedConfig } from './load-config.js';
import { createOfflineEngine } from './offline-engine.js';
import { parseRequestSpec, toWardenRequest } from './request-spec.js';
import { formatVerdict, verdictRecord } from './verdict-report.js';

const USAGE = 'usage: mcp-warden explain --config PATH [--server NS/NAME] [--request FILE|-] [--output json|text]';

export interface ExplainedArgument {
  readonly pointer: string;
  readonly kind: string;
  readonly source: 'policy' | 'inferred';
  readonly reason: string;
  /** The detector that inspects this kind, if any, and its action under `detection`. */
  readonly detector: string | null;
  readonly action: string;
}

export type PinState = 'matches-live' | 'drifted' | 'not-discovered' | 'unpinned';

export interface ExplainedRule {
  readonly name: string;
  readonly action: ToolAction;
  readonly pin: {
    readonly digest: string | null;
    readonly by: 'definition' | 'digest' | null;
    /** Discovery's digest of what the server serves now (MCPServer status), when known. */
    readonly live: string | null;
    readonly state: PinState;
  };
  readonly arguments: readonly ExplainedArgument[];
  readonly when: string | null;
  /** Empty: anyone. */
  readonly principals: readonly string[];
}

export interface ExplainedPolicy {
  readonly policy: string;
  /** True when no MCPPolicy targets the server and the built-in default applies. */
  readonly builtin: boolean;
  readonly mode: string;
  readonly toolsDefault: ToolAction;
  readonly detection: DetectionSpec;
  readonly behavior: readonly string[];
  readonly rules: readonly ExplainedRule[];
}

export interface ExplainedServer {
  readonly server: string;
  /** Tools discovery reports as served (MCPServer status), by name. */
  readonly liveTools: readonly string[];
  readonly policies: readonly ExplainedPolicy[];
}

function describeBehavior(rule: BehaviorRule): string {
  const scope = [rule.tool !== undefined ? `tool ${rule.tool}` : '', rule.argument !== undefined ? `argument ${rule.argument}` : '', rule.scope === 'principal' ? 'per principal' : '']
    .filter((s) => s !== '')
    .join(', ');
  const limit = rule.detector === 'burst' ? `factor ${rule.factor ?? 10}` : `${rule.threshold ?? '?'} per ${rule.window ?? '?'}`;
  return `${rule.detector} ${limit}${scope === '' ? '' : ` (${scope})`} → ${rule.action}`;
}

function explainRule(policy: CompiledPolicy, server: CompiledServer, name: string, inferences: readonly InferenceNote[]): ExplainedRule {
  const compiled = policy.toolRules.get(name);
  const spec = policy.spec.tools.rules.find((r) => r.name === name);
  const digest = compiled?.pinnedDigest ?? null;
  const live = server.liveDigests.get(name) ?? null;
  const state: PinState = digest === null ? 'unpinned' : live === null ? 'not-discovered' : live === digest ? 'matches-live' : 'drifted';
  const args = inferences
    .filter((n) => n.policy === policy.key && n.server === server.key && n.tool === name)
    .map((n): ExplainedArgument => {
      const detector = DETECTOR_BY_KIND[n.kind as keyof typeof DETECTOR_BY_KIND] ?? null;
      return { pointer: n.pointer, kind: n.kind, source: n.source, reason: n.reason, detector, action: detector === null ? 'Off' : policy.spec.detection[detector] };
    });
  return {
    name,
    action: compiled?.action ?? spec?.action ?? 'Deny',
    pin: { digest, by: spec?.definition !== undefined ? 'definition' : spec?.digest !== undefined ? 'digest' : null, live, state },
    arguments: args,
    when: spec?.when ?? null,
    principals: spec?.principals ?? [],
  };
}

/** `configured`: the MCPPolicy resources loaded from files (any other is the built-in default). */
export function explainServer(server: CompiledServer, inferences: readonly InferenceNote[], configured: readonly MCPPolicy[]): ExplainedServer {
  return {
    server: server.key,
    liveTools: [...server.liveDigests.keys()],
    policies: server.policies.map((policy) => ({
      policy: policy.key,
      builtin: !configured.includes(policy.resource),
      mode: policy.mode,
      toolsDefault: policy.toolDefault,
      detection: policy.spec.detection,
      behavior: (policy.spec.behavior ?? []).map(describeBehavior),
      rules: policy.spec.tools.rules.map((rule) => explainRule(policy, server, rule.name, inferences)),
    })),
  };
}

const PIN_STATE_TEXT: Record<PinState, string> = {
  'matches-live': 'matches the live definition',
  drifted: 'DRIFTED: the server serves another definition; calls are refused until re-approved',
  'not-discovered': 'no live digest in MCPServer status yet',
  unpinned: 'not pinned: any definition the server serves is accepted',
};

function formatServer(explained: ExplainedServer): string {
  const lines = [`MCPServer ${explained.server}  (live tools from status: ${explained.liveTools.length === 0 ? 'none' : explained.liveTools.join(', ')})`];
  for (const p of explained.policies) {
    const origin = p.builtin ? ' (built-in default: no MCPPolicy targets this server)' : '';
    lines.push(`  MCPPolicy ${p.policy}${origin}  mode: ${p.mode}  tools.default: ${p.toolsDefault}`);
    lines.push(`    detection: ${Object.entries(p.detection).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    lines.push(`    behavior:  ${p.behavior.length === 0 ? 'none' : p.behavior.join('; ')}`);
    if (p.rules.length === 0) lines.push(`    tools: no rules; every tool is ${p.toolsDefault === 'Allow' ? 'allowed' : 'denied'} by tools.default`);
    for (const rule of p.rules) {
      lines.push(`    tool ${rule.name}: ${rule.action}`);
      const pin = rule.pin.digest === null ? PIN_STATE_TEXT.unpinned : `${rule.pin.digest} (by ${rule.pin.by}; ${PIN_STATE_TEXT[rule.pin.state]})`;
      lines.push(`      pin:        ${pin}`);
      if (rule.pin.state === 'drifted' && rule.pin.live !== null) lines.push(`      live:       ${rule.pin.live}`);
      if (rule.arguments.length === 0) lines.push('      arguments:  none declared or inferred');
      rule.arguments.forEach((a, i) => {
        const detector = a.detector === null ? 'no detector' : `${a.detector}: ${a.action}`;
        lines.push(`      ${i === 0 ? 'arguments: ' : '           '} ${a.pointer}  ${a.kind}  ${a.source === 'policy' ? `from ${a.reason}` : `inferred: ${a.reason}`}  → ${detector}`);
      });
      lines.push(`      when:       ${rule.when ?? '-'}`);
      lines.push(`      principals: ${rule.principals.length === 0 ? 'any' : rule.principals.join(', ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function selectServers(config: LoadedConfig, name: string | undefined): CompiledServer[] {
  const all = [...config.snapshot.servers.values()];
  if (name === undefined) return all;
  const server = config.snapshot.servers.get(name);
  if (server === undefined) throw new InputError(`no MCPServer ${name} in the configuration (servers: ${all.map((s) => s.key).join(', ')})`);
  return [server];
}

async function explainRequest(config: LoadedConfig, file: string, serverKey: string | undefined, output: 'json' | 'text', io: CommandIO): Promise<void> {
  const text = await readInput(file, io);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${file}: not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const spec = parseRequestSpec(value, file === '-' ? '<stdin>' : file);
  const offline = await createOfflineEngine(config.snapshot);
  try {
    const verdict = await offline.engine.decide(toWardenRequest(spec, { requestId: 'explain', receivedAtMs: Date.now(), serverKey }));
    io.stdout(output === 'json' ? `${JSON.stringify(verdictRecord(verdict))}\n` : formatVerdict(verdict));
  } finally {
    await offline.close();
  }
}

export async function runExplainCommand(argv: string[], io: CommandIO = PROCESS_IO): Promise<number> {
  return runOfflineCommand(
    {
      name: 'explain',
      usage: USAGE,
      options: {
        config: { type: 'string', short: 'c' },
        server: { type: 'string' },
        request: { type: 'string' },
        output: { type: 'string', short: 'o' },
      },
      run: async ({ values, positionals }) => {
        if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`);
        if (values.config === undefined) throw new UsageError('--config PATH is required');
        const output = parseOutputFormat(values.output);
        const config = await loadConfigSnapshot(values.config, io);
        if (config === undefined) return 2;
        const servers = selectServers(config, values.server);
        if (values.request !== undefined) {
          await explainRequest(config, values.request, values.server, output, io);
          return 0;
        }
        const explained = servers.map((s) => explainServer(s, config.build.inferences, config.load.policies));
        io.stdout(output === 'json' ? `${JSON.stringify({ servers: explained }, null, 2)}\n` : explained.map(formatServer).join('\n'));
        return 0;
      },
    },
    argv,
    io,
  );
}
