/**
 * Child process for the grpc-check benchmark: runs startAuthzServer on its own core with
 * the `decide` exported by --decide-module (default: the benchmark's parse-and-allow stand-in)
 * and prints `PORT <n>` once listening. Stops on SIGTERM/SIGINT.
 * Run: node --import tsx test/bench/grpc-check-server.ts [--decide-module PATH] [--listen H:P]
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import path from 'node:path';
import { startAuthzServer, type Decide } from '../../authz/envoy/server.js';
import { createLogger } from '../../authz/telemetry/logger.js';
import { createMetrics } from '../../authz/telemetry/metrics.js';

const { values } = parseArgs({
  options: { 'decide-module': { type: 'string' }, listen: { type: 'string', default: '127.0.0.1:0' } },
});

async function loadDecide(modulePath: string | undefined): Promise<Decide> {
  const target = modulePath ?? new URL('./grpc-check-decide.ts', import.meta.url).href;
  const url = target.startsWith('file:') ? target : pathToFileURL(path.resolve(target)).href;
  const mod = (await import(url)) as { decide?: Decide; createDecide?: () => Decide | Promise<Decide> };
  if (mod.createDecide !== undefined) return mod.createDecide();
  if (mod.decide !== undefined) return mod.decide;
  throw new Error(`${target} exports neither decide nor createDecide`);
}

const server = await startAuthzServer({
  listen: values.listen,
  decide: await loadDecide(values['decide-module']),
  logger: createLogger({ level: 'error' }),
  metrics: createMetrics({ processMetrics: false }),
});
process.stdout.write(`PORT ${server.port}\n`);
const stop = (): void => void server.close(1_000).then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
// When the benchmark that spawned us dies, our stdin pipe closes: do not outlive it.
if (!process.stdin.isTTY) {
  process.stdin.on('end', stop);
  process.stdin.resume();
}
