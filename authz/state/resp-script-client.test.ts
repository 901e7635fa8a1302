/**
 * The lean script client against a real redis-server: wire format (keys, UTF-8, every reply
 * type), FIFO matching under load and across timeouts, fail-fast while Redis is down and
 * recovery, a stuck Redis, password and TLS, a clean close; and that the product's store
 * (createStoreFromOptions) runs its scripts through it.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCertificateAuthority } from '../../operator/webhook/certificates.js';
import { freePort } from '../runtime/processes.js';
import { createStatefulChecks } from '../stages/stateful.js';
import { startRedis, startTlsRedis, type RedisServer } from '../../test/support/redis.js';
import { call, policy, T0 } from '../../test/session/fixtures.js';
import { createStoreFromOptions } from './create-store.js';
import { RespError, RespScriptClient } from './resp-script-client.js';

const ECHO = "return KEYS[1] .. '|' .. ARGV[1] .. '|' .. ARGV[2]";
const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

describe('RespScriptClient', () => {
  let redis: RedisServer;
  let admin: Redis;
  let client: RespScriptClient;
  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    client = new RespScriptClient({ url: redis.url });
    expect(await client.ready()).toBe(true);
  });
  afterAll(async () => {
    await client.close();
    admin.disconnect();
    await redis.close();
  });

  it('runs EVALSHA and EVAL with keys and UTF-8 arguments, byte for byte', async () => {
    const sha = String(await admin.script('LOAD', ECHO));
    expect(sha).toBe(sha1(ECHO));
    expect(await client.evalsha(sha, ['k:ключ'], ['日本語 🙂', ''])).toBe('k:ключ|日本語 🙂|');
    expect(await client.eval(ECHO, ['k2'], ['a\r\nb', 'ü'])).toBe('k2|a\r\nb|ü');
    // What Redis stored is the UTF-8 bytes, not a re-encoding.
    await client.eval("return redis.call('SET', KEYS[1], ARGV[1])", ['utf8-key-é'], ['Grüße 🙂']);
    expect(await admin.getBuffer('utf8-key-é')).toEqual(Buffer.from('Grüße 🙂', 'utf8'));
  });

  it('rejects an unknown script with Redis\'s NOSCRIPT error text', async () => {
    const err = await client.evalsha(sha1('return "never loaded"'), [], []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RespError);
    expect((err as Error).message).toMatch(/^NOSCRIPT No matching script/);
    // The connection is still in step afterwards.
    expect(await client.eval('return 1', [], [])).toBe(1);
  });

  it('parses every reply type: status, error, integer, bulk, null, nested arrays, large bulks', async () => {
    expect(await client.eval("return redis.status_reply('PONG')", [], [])).toBe('PONG');
    expect(await client.eval('return 42', [], [])).toBe(42);
    expect(await client.eval('return -7', [], [])).toBe(-7);
    expect(await client.eval("return ''", [], [])).toBe('');
    expect(await client.eval('return false', [], [])).toBeNull();
    expect(await client.eval('return {}', [], [])).toEqual([]);
    const nested = await client.eval("return {1, 'two', {3, 'quatre', {}}, redis.error_reply('INNER oops')}", [], []);
    expect(nested).toMatchObject([1, 'two', [3, 'quatre', []], expect.any(RespError)]);
    expect(((nested as unknown[])[3] as Error).message).toBe('INNER oops');
    await expect(client.eval("return redis.error_reply('MYERR boom')", [], [])).rejects.toThrow(/^MYERR boom$/);
    // Larger than one socket read: parsed across chunks.
    const big = await client.eval("return string.rep('x', 300000) .. ARGV[1]", [], ['end']);
    expect(big).toHaveLength(300_003);
    expect(String(big).endsWith('xend')).toBe(true);
  });

  it('answers many concurrent commands each with its own reply', async () => {
    const sha = String(await admin.script('LOAD', ECHO));
    const n = 3_000;
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => (i % 3 === 0 ? client.eval(ECHO, [`k${i}`], [`v${i}`, 'é'.repeat(i % 50)]) : client.evalsha(sha, [`k${i}`], [`v${i}`, 'é'.repeat(i % 50)]))),
    );
    replies.forEach((r, i) => expect(r).toBe(`k${i}|v${i}|${'é'.repeat(i % 50)}`));
  });

  it('selects the database in the URL path', async () => {
    const db3 = new RespScriptClient({ url: `${redis.url}/3` });
    expect(await db3.ready()).toBe(true);
    await db3.eval("return redis.call('SET', KEYS[1], ARGV[1])", ['in-db'], ['three']);
    expect(await admin.get('in-db')).toBeNull();
    const other = new Redis(`${redis.url}/3`);
    expect(await other.get('in-db')).toBe('three');
    other.disconnect();
    await db3.close();
  });

  it('rejects a command after the timeout while Redis is paused, then matches later replies correctly', async () => {
    const c = new RespScriptClient({ url: redis.url, commandTimeoutMs: 300 });
    expect(await c.ready()).toBe(true);
    await admin.call('CLIENT', 'PAUSE', '700', 'ALL');
    const started = performance.now();
    const first = c.eval('return ARGV[1]', [], ['first']).then(
      (v) => ({ v, ms: performance.now() - started }),
      (e: unknown) => ({ e: e as Error, ms: performance.now() - started }),
    );
    await sleep(550);
    // Sent during the pause too, answered right after it, after the first's late reply.
    const second = c.eval('return ARGV[1]', [], ['second']);
    const r1 = await first;
    expect('e' in r1 ? r1.e.message : r1.v).toMatch(/timed out after 300 ms/);
    expect(r1.ms).toBeGreaterThanOrEqual(299);
    expect(r1.ms).toBeLessThan(550);
    expect(await second).toBe('second');
    const after = await Promise.all([c.eval('return ARGV[1]', [], ['x']), c.eval('return ARGV[1]', [], ['y'])]);
    expect(after).toEqual(['x', 'y']);
    await c.close();
  });

  it('reconnects when Redis is stuck for more than four timeouts', async () => {
    const c = new RespScriptClient({ url: redis.url, commandTimeoutMs: 200 });
    expect(await c.ready()).toBe(true);
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    await expect(c.eval('return 1', [], [])).rejects.toThrow(/timed out/);
    await until('the stuck connection to be dropped', async () => c.lastError?.message.includes('did not answer') === true, 3_000);
    await sleep(800);
    await until('recovery', async () => (await c.eval('return ARGV[1]', [], ['back']).catch(() => 'no')) === 'back');
    await c.close();
  });

  it('rejects pending commands when Redis goes away, fails fast while it is down, and recovers when it is back on the same port', async () => {
    const server = await startRedis();
    const c = new RespScriptClient({ url: server.url });
    expect(await c.ready()).toBe(true);
    expect(await c.eval('return 1', [], [])).toBe(1);
    // Commands waiting (under a WRITE pause) when Redis goes away reject at once.
    const pauser = new Redis(server.url);
    await pauser.call('CLIENT', 'PAUSE', '10000', 'WRITE');
    pauser.disconnect();
    const pending = [c.eval('return 1', [], []), c.eval('return 2', [], [])].map((p) => p.catch((e: unknown) => e as Error));
    const stopping = performance.now();
    await server.stop();
    for (const err of await Promise.all(pending)) expect(err).toMatchObject({ message: expect.stringMatching(/connection lost/) });
    expect(performance.now() - stopping).toBeLessThan(1_000);
    const started = performance.now();
    await expect(c.eval('return 1', [], [])).rejects.toThrow(/not connected/);
    expect(performance.now() - started).toBeLessThan(50);
    await server.start();
    expect(await c.ready(5_000)).toBe(true);
    expect(await c.eval('return ARGV[1]', [], ['recovered'])).toBe('recovered');
    await c.close();
    await expect(c.eval('return 1', [], [])).rejects.toThrow(/client closed/);
    expect(await c.ready(100)).toBe(false);
    await server.close();
  }, 30_000);

  it('authenticates with the right password (URL or option, with a user name) and never gets ready with a wrong one', async () => {
    const server = await startRedis({ password: 'pa55-word' });
    const plain = server.url.replace(/\/\/[^@]*@/, '//');
    const viaUrl = new RespScriptClient({ url: server.url });
    const viaOption = new RespScriptClient({ url: plain, password: 'pa55-word' });
    const withUser = new RespScriptClient({ url: plain.replace('//', '//default:pa55-word@') });
    for (const c of [viaUrl, viaOption, withUser]) {
      expect(await c.ready()).toBe(true);
      expect(await c.eval('return ARGV[1]', [], ['in'])).toBe('in');
    }
    const wrong = new RespScriptClient({ url: plain, password: 'guess' });
    const none = new RespScriptClient({ url: plain });
    expect(await wrong.ready(500)).toBe(false);
    expect(wrong.lastError?.message).toMatch(/WRONGPASS/);
    await expect(wrong.eval('return 1', [], [])).rejects.toThrow(/not connected \(WRONGPASS/);
    // Without a password the handshake passes, but Redis refuses the scripts.
    await none.ready(500);
    await expect(none.eval('return 1', [], [])).rejects.toThrow(/NOAUTH|not connected/);
    for (const c of [viaUrl, viaOption, withUser, wrong, none]) await c.close();
    await server.close();
  });

  it('speaks TLS with a private CA, and refuses a server its CA did not sign', async () => {
    const tls = await startTlsRedis({ password: 'tls-pw' });
    const { server } = tls;
    const ca = { certPem: tls.caPem };
    const other = createCertificateAuthority('someone else', new Date(Date.now() - 60_000), new Date(Date.now() + 3_600_000));
    const good = new RespScriptClient({ url: server.url, tlsCa: ca.certPem });
    expect(await good.ready(5_000)).toBe(true);
    expect(await good.eval(ECHO, ['tls'], ['ü', 'ok'])).toBe('tls|ü|ok');
    const byName = new RespScriptClient({ url: server.url.replace('127.0.0.1', 'localhost'), tlsCa: ca.certPem });
    expect(await byName.ready(5_000)).toBe(true);
    const untrusted = new RespScriptClient({ url: server.url, tlsCa: other.certPem });
    expect(await untrusted.ready(1_000)).toBe(false);
    expect(untrusted.lastError?.message).toMatch(/certificate|self.signed|verify/i);
    for (const c of [good, byName, untrusted]) await c.close();
    await tls.close();
  }, 60_000);

  it('leaves nothing behind after close(): the process exits, connected or not', async () => {
    const deadPort = await freePort();
    const module = new URL('./resp-script-client.ts', import.meta.url).href;
    const script = `
      import { RespScriptClient } from ${JSON.stringify(module)};
      const up = new RespScriptClient({ url: ${JSON.stringify(redis.url)}, commandTimeoutMs: 100 });
      if (!(await up.ready())) throw new Error('not ready');
      if ((await up.eval('return ARGV[1]', [], ['ok'])) !== 'ok') throw new Error('bad reply');
      const down = new RespScriptClient({ url: 'redis://127.0.0.1:${deadPort}' });
      await new Promise((r) => setTimeout(r, 300));
      await Promise.all([up.close(), down.close()]);
      console.log('closed');
    `;
    const started = Date.now();
    const out = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 15_000 }, (err, stdout, stderr) =>
        err !== null ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    expect(out.trim()).toBe('closed');
    expect(Date.now() - started).toBeLessThan(10_000);
  }, 20_000);
});

describe('the product store (createStoreFromOptions) on a single Redis', () => {
  let redis: RedisServer;
  let admin: Redis;
  beforeAll(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  afterAll(async () => {
    admin.disconnect();
    await redis.close();
  });

  const scriptConnection = async (): Promise<string | undefined> =>
    String(await admin.call('CLIENT', 'LIST'))
      .split('\n')
      .find((line) => line.includes('name=mcpw-scripts'));

  it('runs the checks\' scripts on the lean client, falls back to EVAL after SCRIPT FLUSH, and closes it', async () => {
    const store = await createStoreFromOptions({ redisUrl: redis.url });
    const checks = createStatefulChecks({ store });
    expect(await checks.check(call({ session: 'fast', now: T0 }, 'x', {}, 1, policy()))).toBeUndefined();
    expect(await checks.check(call({ session: 'fast', now: T0 + 1 }, 'x', {}, 2, policy()))).toBeUndefined();
    expect(await scriptConnection()).toMatch(/cmd=evalsha/);
    await admin.script('FLUSH');
    expect(await checks.check(call({ session: 'fast', now: T0 + 2 }, 'x', {}, 2, policy()))).toMatchObject({ rule: 'id-replay' });
    expect(await scriptConnection()).toMatch(/cmd=eval /);
    expect(await checks.check(call({ session: 'fast', now: T0 + 3 }, 'x', {}, 3, policy()))).toBeUndefined();
    await checks.close();
    await until('the script connection to close', async () => (await scriptConnection()) === undefined, 3_000);
  });
});
