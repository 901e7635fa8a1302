/**
 * The `mcp-warden` subcommand table and dispatcher. Each subcommand lives in its own module
 * and is imported lazily so `mcp-warden tools scan` does not load the gRPC stack.
 */
type Subcommand = (argv: string[]) => Promise<number>;

const SUBCOMMANDS: Record<string, { summary: string; load: () => Promise<Subcommand> }> = {
  authz: {
    summary: 'authz (--config PATH | [--kubeconfig PATH]) --listen HOST:PORT [--metrics-listen HOST:PORT] [--redis URL]  run the ext_authz gRPC service (files, or the cluster without --config)',
    load: async () => (await import('./authz/main.js')).runAuthzCommand,
  },
  demo: {
    summary: 'demo [--listen HOST:PORT] [--config PATH] [--metrics-listen HOST:PORT]  Envoy + authz + a vulnerable sample MCP server, on this machine',
    load: async () => (await import('./authz/demo/demo-command.js')).runDemoCommand,
  },
  operator: {
    summary: 'operator [--kubeconfig PATH] [--namespace NS] [--leader-elect]  run the Kubernetes operator (webhook, discovery, status)',
    load: async () => (await import('./operator/main.js')).runOperatorCommand,
  },
  'sessions list': {
    summary: 'sessions list [--session REF | --principal P] (--redis URL | --admin URL)  sessions the service tracks',
    load: async () => (await import('./authz/session/sessions-command.js')).runSessionsListCommand,
  },
  'sessions revoke': {
    summary: 'sessions revoke (--session REF | --principal P) [--for 24h] (--redis URL | --admin URL)  refuse those sessions from now on',
    load: async () => (await import('./authz/session/sessions-command.js')).runSessionsRevokeCommand,
  },
  'tools scan': {
    summary: 'tools scan [FILE…|-] [--output json|table]  scan tool definitions for poisoning (exit 1 on findings, 2 if unreadable)',
    load: async () => (await import('./authz/scan/tools-scan-command.js')).runToolsScanCommand,
  },
  'policy validate': {
    summary: 'policy validate FILE|DIR…  check MCPServer/MCPPolicy manifests (exit 1 on errors, 2 if unreadable)',
    load: async () => (await import('./authz/config/policy-validate-command.js')).runPolicyValidateCommand,
  },
  'policy test': {
    summary: 'policy test --config PATH TRAFFIC.jsonl|- [--output json]  replay recorded requests offline against the policy (exit 1 on a failed expectation, 2 if unreadable)',
    load: async () => (await import('./authz/cli/policy-test-command.js')).runPolicyTestCommand,
  },
  'tools approve': {
    summary: 'tools approve --policy FILE [--rule NAME…|--all] (--from FILE|- | --url URL) [--force] [--digest-only]  pin served tool definitions in an MCPPolicy (exit 1 if any refused)',
    load: async () => (await import('./authz/cli/tools-approve-command.js')).runToolsApproveCommand,
  },
  explain: {
    summary: 'explain --config PATH [--server NS/NAME] [--request FILE|-] [--output json]  what each rule does, or the verdict for one request',
    load: async () => (await import('./authz/cli/explain-command.js')).runExplainCommand,
  },
};

function usage(): string {
  const lines = Object.values(SUBCOMMANDS).map((s) => `  mcp-warden ${s.summary}`);
  return `usage:\n${lines.join('\n')}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  // Two-word subcommands (`tools scan`, `policy validate`, `sessions list`).
  const two = rest[0] !== undefined ? `${name} ${rest[0]}` : undefined;
  const entry = (two !== undefined ? SUBCOMMANDS[two] : undefined) ?? SUBCOMMANDS[name];
  if (entry === undefined) {
    process.stderr.write(`mcp-warden: unknown command '${name}'\n${usage()}`);
    return 2;
  }
  const args = two !== undefined && SUBCOMMANDS[two] !== undefined ? rest.slice(1) : rest;
  const run = await entry.load();
  return run(args);
}

