/**
 * Real processes for `mcp-warden demo` and the tests: spawn, wait until a port answers, stop.
 * Every child runs in its own process group so stopping it also stops what it started
 * (a shell's children, npm's node). Nothing is orphaned: groups are killed when stopped, when
 * this process exits or is signalled, and — if this process dies without running any code
 * (SIGKILL, OOM) — by a small watchdog that notices its stdin pipe closing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection, createServer } from 'node:net';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the process has exited. */
  hasExited(): boolean;
  /** The last output lines (stdout and stderr interleaved), for diagnostics. */
  output(): string;
  /** Resolves with the first output line matching `pattern`; rejects on exit or timeout. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends `signal` to the group; escalates to SIGKILL after `graceMs`. Idempotent. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
  /** Sends a signal to the whole group without waiting (SIGSTOP/SIGCONT in tests). */
  signal(signal: NodeJS.Signals): void;
}

export interface SpawnOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Also copy each output line to this sink (the demo shows progress this way). */
  readonly echo?: (line: string) => void;
  /** Characters of output kept for diagnostics (default 64 KiB). */
  readonly keepOutputChars?: number;
}

const live = new Map<number, ManagedProcess>();

// Watchdog: a detached node process reading "+pgid"/"-pgid" lines on stdin; when the pipe
// closes (this process is gone, however it died) it SIGKILLs every group still registered.
const WATCHDOG_SOURCE = `
const groups = new Set();
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d) => {
  buf += d;
  let i;
  while ((i = buf.indexOf('\\n')) >= 0) {
    const line = buf.slice(0, i); buf = buf.slice(i + 1);
    const pgid = Number(line.slice(1));
    if (line[0] === '+') groups.add(pgid); else groups.delete(pgid);
  }
});
process.stdin.on('end', () => {
  for (const g of groups) { try { process.kill(-g, 'SIGKILL'); } catch {} }
  process.exit(0);
});
`;
let watchdog: ChildProcess | undefined;

function tellWatchdog(line: string): void {
  if (watchdog === undefined) {
    watchdog = spawn(process.execPath, ['-e', WATCHDOG_SOURCE], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
    watchdog.unref();
    const stdin = watchdog.stdin as unknown as { unref?: () => void } | null;
    stdin?.unref?.();
    watchdog.stdin?.on('error', () => undefined);
  }
  watchdog.stdin?.write(`${line}\n`);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

let exitHooksInstalled = false;
function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', () => {
    for (const p of live.values()) killGroup(p.pid, 'SIGKILL');
  });
}

export function spawnManaged(name: string, command: string, args: readonly string[], options: SpawnOptions = {}): ManagedProcess {
  installExitHooks();
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Own process group: `kill(-pid)` reaches the whole tree, and a Ctrl-C in the terminal
    // reaches only us, so we decide the shutdown order.
    detached: true,
  });
  if (child.pid === undefined) {
    throw new Error(`${name}: could not start '${command}'`);
  }
  const pid = child.pid;
  const keep = options.keepOutputChars ?? 65_536;
  let out = '';
  let exitedFlag = false;
  const watchers = new Set<(line: string) => void>();
  const append = (chunk: Buffer): void => {
    const text = chunk.toString('utf8');
    out = (out + text).slice(-keep);
    for (const line of text.split('\n')) {
      if (line === '') continue;
      options.echo?.(line);
      for (const w of watchers) w(line);
    }
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      // The leader is gone; make sure nothing it started outlives it.
      killGroup(pid, 'SIGKILL');
      live.delete(pid);
      tellWatchdog(`-${pid}`);
      resolve({ code, signal });
    });
    child.once('error', () => {
      exitedFlag = true;
      live.delete(pid);
      resolve({ code: null, signal: null });
    });
  });

  let stopping: Promise<void> | undefined;
  const managed: ManagedProcess = {
    name,
    pid,
    child,
    exited,
    hasExited: () => exitedFlag,
    output: () => out,
    waitForLine(pattern, timeoutMs = 30_000) {
      return new Promise<string>((resolve, reject) => {
        const done = (fn: () => void): void => {
          clearTimeout(timer);
          watchers.delete(watch);
          fn();
        };
        const watch = (line: string): void => {
          if (pattern.test(line)) done(() => resolve(line));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`${name}: no output matching ${pattern} within ${timeoutMs} ms\n${out}`))), timeoutMs);
        watchers.add(watch);
        for (const line of out.split('\n')) if (pattern.test(line)) return done(() => resolve(line));
        void exited.then(() => done(() => reject(new Error(`${name} exited before printing ${pattern}\n${out}`))));
      });
    },
    stop(signal = 'SIGTERM', graceMs = 5_000) {
      stopping ??= (async () => {
        if (exitedFlag) return;
        killGroup(pid, signal);
        const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
    signal(sig) {
      killGroup(pid, sig);
    },
  };
  live.set(pid, managed);
  tellWatchdog(`+${pid}`);
  return managed;
}

/** Stops every process this module started, most recent first. */
export async function stopAll(): Promise<void> {
  const all = [...live.values()].reverse();
  for (const p of all) await p.stop();
}

/**
 * Ports handed to child processes come from below Linux's default ephemeral range
 * (32768–60999). A port the kernel picks with listen(0) lies inside that range, so between
 * our close() and the child's bind() any outgoing connection on the machine may take it;
 * a random port below the range can only be taken by another listener.
 */
const CHILD_PORT_LOW = 20_000;
const CHILD_PORT_SPAN = 12_000;
const CHILD_PORT_TRIES = 40;

/** A port that was free a moment ago on `host`, for a child process to listen on. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < CHILD_PORT_TRIES; i++) {
    const candidate = CHILD_PORT_LOW + Math.floor(Math.random() * CHILD_PORT_SPAN);
    if ((await bindAndRelease(host, candidate)) !== undefined) return candidate;
  }
  const picked = await bindAndRelease(host, 0);
  if (picked === undefined) throw new Error(`no free port on ${host}`);
  return picked;
}

async function bindAndRelease(host: string, port: number): Promise<number | undefined> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, host, () => resolve(true));
  });
  if (!bound) return undefined;
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : undefined;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return actual;
}

function tryConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.setTimeout(1_000, () => finish(false));
  });
}

/** Waits until `host:port` accepts TCP connections; fails early when `process` exits. */
export async function waitForPort(host: string, port: number, options: { timeoutMs?: number; process?: ManagedProcess } = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  for (;;) {
    if (await tryConnect(host, port)) return;
    const p = options.process;
    if (p?.hasExited()) throw new Error(`${p.name} exited before listening on ${host}:${port}\n${p.output()}`);
    if (Date.now() > deadline) {
      throw new Error(`nothing listening on ${host}:${port} after ${options.timeoutMs ?? 30_000} ms${p !== undefined ? `\n${p.name} output:\n${p.output()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until `host:port` refuses connections (the listener is gone). */
export async function waitForPortClosed(host: string, port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (await tryConnect(host, port)) {
    if (Date.now() > deadline) throw new Error(`${host}:${port} still accepts connections after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Command line that runs a TypeScript or JavaScript module with this Node: `.ts` files go
 * through tsx (tests run from source), `.js` files run directly (the built CLI).
 */
export function nodeModuleCommand(modulePath: string, args: readonly string[] = []): { command: string; args: string[] } {
  // Resolved from here so the child finds tsx whatever its working directory.
  const loader = modulePath.endsWith('.ts') ? ['--import', import.meta.resolve('tsx')] : [];
  return { command: process.execPath, args: [...loader, modulePath, ...args] };
}
