/**
 * The gRPC server on its own HTTP/2 layer, driven over real sockets by @grpc/grpc-js (a real
 * gRPC client), node:http2's client, and hand-made HTTP/2 requests for what a well-behaved
 * client never sends.
 */
import { createHook } from 'node:async_hooks';
import http2 from 'node:http2';
import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthService } from './health.js';
import { loadProtos } from './proto.js';
import { createGrpcServer, encodeGrpcMessage, GrpcError, GrpcStatus, type GrpcMethod, type GrpcServer, type StreamWriter } from './grpc-server.js';

// A toy codec: messages are UTF-8 text.
const text = { decode: (b: Buffer): string => b.toString('utf8'), encode: (s: string): Buffer => Buffer.from(s, 'utf8') };

let server: GrpcServer | undefined;
let errors: string[] = [];
const watchers = new Set<StreamWriter<string>>();

const METHODS = new Map<string, GrpcMethod>([
  ['/t.T/Echo', { kind: 'unary', ...text, handle: (s: string) => `echo:${s}` }],
  ['/t.T/Slow', { kind: 'unary', ...text, handle: (s: string) => new Promise<string>((r) => setTimeout(() => r(`slow:${s}`), 150)) }],
  [
    '/t.T/Fail',
    {
      kind: 'unary',
      ...text,
      handle: (s: string) => {
        if (s === 'grpc') throw new GrpcError(GrpcStatus.NOT_FOUND, 'no such thing: ünïcode 100%');
        throw new Error('secret detail');
      },
    },
  ],
  [
    '/t.T/WriteThenThrow',
    {
      kind: 'server-stream',
      ...text,
      handle: (s: string, writer: StreamWriter<string>) => {
        writer.write(`first:${s}`);
        throw new Error('handler broke after writing');
      },
    },
  ],
  [
    '/t.T/Watch',
    {
      kind: 'server-stream',
      ...text,
      handle: (s: string, writer: StreamWriter<string>) => {
        watchers.add(writer);
        writer.onClose(() => watchers.delete(writer));
        writer.write(`first:${s}`);
      },
    },
  ],
]);

interface StartOptions {
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  maxReceiveMessageBytes?: number;
  receiveTimeoutMs?: number;
  maxConnections?: number;
  onError?: (err: Error, context: string) => void;
}

async function start(overrides: StartOptions = {}): Promise<number> {
  errors = [];
  server = createGrpcServer({
    methods: METHODS,
    maxReceiveMessageBytes: overrides.maxReceiveMessageBytes ?? 1024,
    keepaliveTimeMs: overrides.keepaliveTimeMs ?? 0,
    keepaliveTimeoutMs: overrides.keepaliveTimeoutMs ?? 1_000,
    ...(overrides.receiveTimeoutMs === undefined ? {} : { receiveTimeoutMs: overrides.receiveTimeoutMs }),
    ...(overrides.maxConnections === undefined ? {} : { maxConnections: overrides.maxConnections }),
    onError: overrides.onError ?? ((err, context) => errors.push(`${context}: ${err.message}`)),
  });
  return server.listen('127.0.0.1', 0);
}

afterEach(async () => {
  await server?.close(100);
  server = undefined;
});

function frame(message: Buffer, compressed = 0): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out[0] = compressed;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, 5);
  return out;
}

interface RawAnswer {
  readonly status: number | undefined;
  readonly grpcStatus: string | undefined;
  readonly grpcMessage: string | undefined;
  readonly body: Buffer;
}

/** One request over node:http2 with any method, headers and body bytes, on its own connection. */
async function raw(port: number, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await rawOn(session, body, headers);
  } finally {
    session.close();
  }
}

/** One request on an open node:http2 connection. */
function rawOn(session: http2.ClientHttp2Session, body: Buffer, headers: http2.OutgoingHttpHeaders = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    session.once('error', reject);
    const stream = session.request({ ':method': 'POST', ':path': '/t.T/Echo', 'content-type': 'application/grpc', te: 'trailers', ...headers });
    let status: number | undefined;
    let grpcStatus: string | undefined;
    let grpcMessage: string | undefined;
    const chunks: Buffer[] = [];
    const take = (h: http2.IncomingHttpHeaders): void => {
      if (typeof h['grpc-status'] === 'string') grpcStatus = h['grpc-status'];
      if (typeof h['grpc-message'] === 'string') grpcMessage = h['grpc-message'];
    };
    stream.on('response', (h) => {
      status = Number(h[':status']);
      take(h);
    });
    stream.on('trailers', take);
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('close', () => {
      session.off('error', reject);
      resolve({ status, grpcStatus, grpcMessage, body: Buffer.concat(chunks) });
    });
    // GET requests are sent with END_STREAM already (node:http2 ends them itself).
    if (stream.writable) stream.end(body);
  });
}

/** One HTTP/2 frame (RFC 9113 §4.1). */
function h2Frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

/** HPACK literal header field without indexing, new name (RFC 7541 §6.2.2); short strings only. */
function hpackLiteral(name: string, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x00, name.length]), Buffer.from(name), Buffer.from([value.length]), Buffer.from(value)]);
}

/**
 * A hand-written HTTP/2 client connection: the preface, an empty SETTINGS, and HEADERS opening
 * stream 1 as a gRPC call to path. The caller writes the DATA frames it wants.
 */
async function rawConnection(port: number, path: string): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
  // 0x83 = :method POST, 0x86 = :scheme http (static table).
  const block = Buffer.concat([Buffer.from([0x83, 0x86]), hpackLiteral(':path', path), hpackLiteral(':authority', 'x'), hpackLiteral('content-type', 'application/grpc')]);
  socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), h2Frame(4, 0, 0, Buffer.alloc(0)), h2Frame(1, 0x4, 1, block)]));
  return socket;
}

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

function liveHeapBytes(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function grpcClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}

function unary(client: grpc.Client, path: string, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(path, text.encode, text.decode, message, (err, value) => (err !== null ? reject(err) : resolve(value ?? '')));
  });
}

describe('gRPC server', () => {
  it('answers unary calls from a real gRPC client, many at once on one connection', async () => {
    const port = await start();
    const client = grpcClient(port);
    try {
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => unary(client, '/t.T/Echo', `m${i}`)));
      expect(answers).toEqual(Array.from({ length: 50 }, (_, i) => `echo:m${i}`));
      expect(await unary(client, '/t.T/Slow', 'x')).toBe('slow:x');
    } finally {
      client.close();
    }
  });

  it('maps handler failures to statuses without leaking internal messages', async () => {
    const port = await start();
    const client = grpcClient(port);
    try {
      await expect(unary(client, '/t.T/Fail', 'grpc')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: 'no such thing: ünïcode 100%' });
      await expect(unary(client, '/t.T/Fail', 'boom')).rejects.toMatchObject({ code: grpc.status.INTERNAL, details: 'internal error' });
      expect(errors).toEqual(['handling a call: secret detail']);
      await expect(unary(client, '/t.T/Nope', 'x')).rejects.toMatchObject({ code: grpc.status.UNIMPLEMENTED });
    } finally {
      client.close();
    }
  });

  it('refuses what a unary gRPC call may not be, and keeps serving', async () => {
    const port = await start();
    const ok = frame(Buffer.from('hi'));
    expect(await raw(port, ok)).toMatchObject({ status: 200, grpcStatus: '0' });
    expect((await raw(port, ok)).body.subarray(5).toString()).toBe('echo:hi');
    // Not gRPC at all.
    expect((await raw(port, ok, { 'content-type': 'application/json' })).status).toBe(415);
    expect((await raw(port, Buffer.alloc(0), { ':method': 'GET' })).status).toBe(405);
    // Broken framing.
    expect((await raw(port, Buffer.from([0, 0, 0]))).grpcStatus).toBe(String(GrpcStatus.INTERNAL));
    expect((await raw(port, frame(Buffer.from('hello')).subarray(0, 8))).grpcStatus).toBe(String(GrpcStatus.INTERNAL));
    expect((await raw(port, Buffer.concat([ok, ok]))).grpcStatus).toBe(String(GrpcStatus.UNIMPLEMENTED));
    expect(await raw(port, frame(Buffer.from('hi'), 1), { 'grpc-encoding': 'gzip' })).toMatchObject({ grpcStatus: String(GrpcStatus.UNIMPLEMENTED), grpcMessage: expect.stringContaining('compressed') });
    expect(await raw(port, ok)).toMatchObject({ status: 200, grpcStatus: '0' });
  });

  it('answers RESOURCE_EXHAUSTED past the receive limit without buffering the rest', async () => {
    const port = await start({ maxReceiveMessageBytes: 64 * 1024 });
    const big = await raw(port, frame(Buffer.alloc(1024 * 1024, 0x61)));
    expect(big.grpcStatus).toBe(String(GrpcStatus.RESOURCE_EXHAUSTED));
    expect(decodeURIComponent(big.grpcMessage ?? '')).toContain('65536');
    const atLimit = await raw(port, frame(Buffer.alloc(64 * 1024, 0x61)));
    expect(atLimit.grpcStatus).toBe('0');
    expect(atLimit.body.length).toBe(5 + 5 + 64 * 1024);
  });

  it('holds a body sent as many tiny DATA frames at about its own size, not per frame', async () => {
    // Each 1-byte DATA frame used to be kept as its own Buffer view (≈ 200 bytes of heap per
    // byte of body): a 17 MiB body sent that way is gigabytes of heap, enough to kill the process.
    const port = await start({ maxReceiveMessageBytes: 1024 * 1024 });
    const before = liveHeapBytes();
    const sockets: net.Socket[] = [];
    const FRAMES = 60_000; // below the 65535-byte initial flow-control window
    for (let c = 0; c < 3; c++) {
      const socket = await rawConnection(port, '/t.T/Echo');
      const tiny = [h2Frame(0, 0, 1, Buffer.from([0, 0, 0x0f, 0xff, 0xff]))];
      for (let i = 0; i < FRAMES; i++) tiny.push(h2Frame(0, 0, 1, Buffer.from([0x61])));
      socket.write(Buffer.concat(tiny));
      sockets.push(socket);
    }
    await new Promise((r) => setTimeout(r, 500));
    const held = liveHeapBytes() - before;
    for (const socket of sockets) socket.destroy();
    // 3 × 60 kB of body; allow generous slack for the connections themselves.
    expect(held).toBeLessThan(4 * 1024 * 1024);
    const client = grpcClient(port);
    try {
      expect(await unary(client, '/t.T/Echo', 'still here')).toBe('echo:still here');
    } finally {
      client.close();
    }
  });

  it('survives an onError that throws, and keeps serving', async () => {
    const port = await start({
      onError: () => {
        throw new Error('logger broke');
      },
    });
    const client = grpcClient(port);
    try {
      await expect(unary(client, '/t.T/Fail', 'boom')).rejects.toMatchObject({ code: grpc.status.INTERNAL });
      expect(await unary(client, '/t.T/Echo', 'after')).toBe('echo:after');
    } finally {
      client.close();
    }
  });

  it('refuses a declared length past the limit at once, and cuts a request whose body never ends', async () => {
    const port = await start({ maxReceiveMessageBytes: 1024, receiveTimeoutMs: 200 });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const open = (): http2.ClientHttp2Stream => session.request({ ':method': 'POST', ':path': '/t.T/Echo', 'content-type': 'application/grpc', te: 'trailers' });
    const outcome = (stream: http2.ClientHttp2Stream): Promise<{ grpcStatus: unknown; rstCode: number; ms: number }> => {
      const started = Date.now();
      let grpcStatus: unknown;
      stream.on('response', (h) => (grpcStatus = h['grpc-status']));
      stream.on('error', () => undefined);
      stream.resume();
      const fallback = new Promise<{ grpcStatus: unknown; rstCode: number; ms: number }>((r) => setTimeout(() => r({ grpcStatus: 'still open', rstCode: -1, ms: Infinity }), 1_500).unref());
      const closed = new Promise<{ grpcStatus: unknown; rstCode: number; ms: number }>((r) => stream.once('close', () => r({ grpcStatus, rstCode: stream.rstCode ?? 0, ms: Date.now() - started })));
      return Promise.race([closed, fallback]);
    };
    try {
      // 4 GiB declared, 2 bytes sent, body left open: refused without waiting for the rest.
      const huge = open();
      huge.write(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 0x61, 0x61]));
      const refused = outcome(huge);
      await new Promise((r) => setTimeout(r, 50));
      huge.close(http2.constants.NGHTTP2_CANCEL);
      expect(await refused).toMatchObject({ grpcStatus: String(GrpcStatus.RESOURCE_EXHAUSTED) });

      // A plausible length whose bytes stop coming: the stream is reset at the receive deadline.
      const stalled = open();
      stalled.write(Buffer.from([0, 0, 0, 0, 10, 0x61]));
      const cut = await outcome(stalled);
      expect(cut.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      expect(cut.ms).toBeLessThan(1_000);

      // A body sent promptly is unaffected.
      expect((await raw(port, frame(Buffer.from('hi')))).grpcStatus).toBe('0');
    } finally {
      session.close();
    }
  });

  it('also cuts refused requests (not gRPC, unknown method) whose body never ends', async () => {
    const port = await start({ receiveTimeoutMs: 200 });
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const leftOpen = (headers: http2.OutgoingHttpHeaders): Promise<number | string> => {
      const stream = session.request({ ':method': 'POST', ':path': '/t.T/Echo', 'content-type': 'application/grpc', ...headers });
      stream.on('error', () => undefined);
      stream.resume();
      stream.write(Buffer.alloc(1_000, 0x61));
      const fallback = new Promise<string>((r) => setTimeout(() => r('still open'), 1_500).unref());
      return Promise.race([new Promise<number>((r) => stream.once('close', () => r(stream.rstCode ?? 0))), fallback]);
    };
    try {
      const outcomes = await Promise.all([leftOpen({ 'content-type': 'text/plain' }), leftOpen({ ':path': '/t.T/Nope' })]);
      // Answered before its body ended, each stream is reset with NO_ERROR at once: the client is
      // told to stop sending (RFC 9113 §8.1) instead of holding the stream to the deadline.
      expect(outcomes).toEqual([http2.constants.NGHTTP2_NO_ERROR, http2.constants.NGHTTP2_NO_ERROR]);
    } finally {
      session.close();
    }
  });

  it('ends a streaming call whose handler throws after it has written', async () => {
    const port = await start();
    const client = grpcClient(port);
    try {
      const call = client.makeServerStreamRequest('/t.T/WriteThenThrow', text.encode, text.decode, 'x');
      const got: string[] = [];
      call.on('data', (m: string) => got.push(m));
      const status = await Promise.race([
        new Promise<number>((r) => call.on('error', (e: grpc.ServiceError) => r(e.code))),
        new Promise<string>((r) => setTimeout(() => r('never ended'), 1_500).unref()),
      ]);
      expect(got).toEqual(['first:x']);
      expect(status).toBe(grpc.status.INTERNAL);
      expect(errors).toEqual(['handling a streaming call: handler broke after writing']);
    } finally {
      client.close();
    }
  });

  it('ends a streaming call whose message cannot be encoded, without throwing at the writer', async () => {
    const port = await start();
    const client = grpcClient(port);
    try {
      const call = client.makeServerStreamRequest('/t.T/Watch', text.encode, text.decode, 'x');
      call.on('data', () => undefined);
      const status = new Promise<number>((r) => call.on('error', (e: grpc.ServiceError) => r(e.code)));
      await new Promise((r) => setTimeout(r, 100));
      expect(watchers.size).toBe(1);
      // The text codec cannot encode a number: a later write fails the call, not its caller.
      for (const w of watchers) expect(() => (w as unknown as StreamWriter<unknown>).write(42)).not.toThrow();
      expect(await status).toBe(grpc.status.INTERNAL);
      expect(watchers.size).toBe(0);
      expect(errors).toEqual([expect.stringContaining('encoding a streamed message')]);
    } finally {
      client.close();
    }
  });

  it('survives clients that go away mid-call in every way, and keeps serving', async () => {
    const port = await start();
    // Cancelled while the handler is still working: its answer arrives for a closed stream.
    const client = grpcClient(port);
    const call = client.makeUnaryRequest('/t.T/Slow', text.encode, text.decode, 'x', () => undefined);
    await new Promise((r) => setTimeout(r, 30));
    call.cancel();
    // RST_STREAM (CANCEL) half way through a body, and a connection dropped half way through one.
    const half = h2Frame(0, 0, 1, Buffer.from([0, 0, 0, 0, 10, 0x61, 0x61]));
    const reset = await rawConnection(port, '/t.T/Echo');
    reset.write(Buffer.concat([half, h2Frame(3, 0, 1, Buffer.from([0, 0, 0, 8]))]));
    const dropped = await rawConnection(port, '/t.T/Echo');
    dropped.write(half);
    // Not HTTP/2 at all, and HTTP/1.1.
    const garbage = net.connect(port, '127.0.0.1');
    garbage.on('error', () => undefined);
    garbage.write(Buffer.alloc(64, 0xff));
    const http1 = net.connect(port, '127.0.0.1');
    http1.on('error', () => undefined);
    http1.write('POST /t.T/Echo HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
    await new Promise((r) => setTimeout(r, 50));
    dropped.destroy();
    await new Promise((r) => setTimeout(r, 250));
    for (const socket of [reset, garbage, http1]) socket.destroy();
    try {
      expect(await unary(client, '/t.T/Echo', 'after')).toBe('echo:after');
      expect((await raw(port, frame(Buffer.from('hi')))).grpcStatus).toBe('0');
    } finally {
      client.close();
    }
  });

  it('advertises a bound on concurrent streams per connection', async () => {
    const port = await start();
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const settings = await new Promise<http2.Settings>((r) => session.once('remoteSettings', r));
      expect(settings.maxConcurrentStreams).toBeGreaterThan(0);
      expect(settings.maxConcurrentStreams).toBeLessThanOrEqual(1000);
    } finally {
      session.close();
    }
  });

  it('accepts connections up to maxConnections and closes the ones past it, serving again once one goes', async () => {
    const port = await start({ maxConnections: 2 });
    const sessions = [0, 1].map(() => http2.connect(`http://127.0.0.1:${port}`));
    try {
      for (const s of sessions) expect((await rawOn(s, frame(Buffer.from('hi')))).grpcStatus).toBe('0');
      const third = http2.connect(`http://127.0.0.1:${port}`);
      third.on('error', () => undefined);
      await new Promise<void>((resolve) => third.once('close', () => resolve()));
      sessions[0]?.close();
      await new Promise((r) => setTimeout(r, 100));
      const fourth = http2.connect(`http://127.0.0.1:${port}`);
      sessions.push(fourth);
      expect((await rawOn(fourth, frame(Buffer.from('hi')))).grpcStatus).toBe('0');
    } finally {
      for (const s of sessions) s.close();
    }
  });

  it('streams server-streaming calls and ends them on close', async () => {
    const port = await start();
    const client = grpcClient(port);
    const call = client.makeServerStreamRequest('/t.T/Watch', text.encode, text.decode, 'w');
    const got: string[] = [];
    const ended = new Promise<void>((resolve) => call.on('status', (s: grpc.StatusObject) => (s.code === grpc.status.OK ? resolve() : undefined)));
    call.on('data', (m: string) => got.push(m));
    await new Promise((r) => setTimeout(r, 100));
    for (const w of watchers) w.write('second');
    await new Promise((r) => setTimeout(r, 100));
    expect(got).toEqual(['first:w', 'second']);
    await server?.close(1_000);
    server = undefined;
    await ended;
    expect(watchers.size).toBe(0);
    client.close();
  });

  it('lets a call in flight finish when closing gracefully', async () => {
    const port = await start();
    const client = grpcClient(port);
    try {
      const slow = unary(client, '/t.T/Slow', 'last');
      await new Promise((r) => setTimeout(r, 30));
      const closed = server?.close(2_000);
      server = undefined;
      expect(await slow).toBe('slow:last');
      await closed;
      await expect(unary(client, '/t.T/Echo', 'after')).rejects.toMatchObject({ code: grpc.status.UNAVAILABLE });
    } finally {
      client.close();
    }
  });

  it('pings idle connections and drops one that never answers', async () => {
    const port = await start({ keepaliveTimeMs: 50, keepaliveTimeoutMs: 100 });
    // A well-behaved client answers the pings and keeps its connection.
    const session = http2.connect(`http://127.0.0.1:${port}`);
    let pings = 0;
    session.on('ping', () => pings++);
    await new Promise((r) => setTimeout(r, 300));
    expect(pings).toBeGreaterThanOrEqual(2);
    expect(session.closed || session.destroyed).toBe(false);
    session.close();

    // A peer that speaks just enough HTTP/2 to connect and then goes silent is cut off.
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    socket.on('data', () => undefined);
    const started = Date.now();
    await new Promise<void>((r) => socket.once('close', () => r()));
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('leaves no timer behind once close resolves, with connections, a watch and a stalled body open', async () => {
    // Every timer the server makes is unref'd, so a leak would not hold the process open; it
    // would keep its session reachable. Track each Timeout grpc-server.ts makes, from creation
    // to destruction.
    const live = new Set<number>();
    const hook = createHook({
      init: (id, type) => void (type === 'Timeout' && /grpc-server\.ts:/.test(new Error().stack ?? '') && live.add(id)),
      destroy: (id) => void live.delete(id),
    }).enable();
    try {
      const port = await start({ keepaliveTimeMs: 20, keepaliveTimeoutMs: 1_000, receiveTimeoutMs: 60_000 });
      const session = http2.connect(`http://127.0.0.1:${port}`);
      const watch = session.request({ ':method': 'POST', ':path': '/t.T/Watch', 'content-type': 'application/grpc', te: 'trailers' });
      watch.on('error', () => undefined);
      watch.resume();
      watch.end(frame(Buffer.from('w')));
      const stalled = session.request({ ':method': 'POST', ':path': '/t.T/Echo', 'content-type': 'application/grpc', te: 'trailers' });
      stalled.on('error', () => undefined);
      stalled.write(frame(Buffer.from('hello')).subarray(0, 7));
      await new Promise((r) => setTimeout(r, 100));
      expect(watchers.size).toBe(1);
      await server?.close(100);
      server = undefined;
      session.destroy();
      await new Promise((r) => setTimeout(r, 50));
      expect(watchers.size).toBe(0);
      expect(live.size).toBe(0);
    } finally {
      hook.disable();
    }
  });

  it('forgets a health Watch of an unknown service name once the watch ends', async () => {
    const health = createHealthService(loadProtos());
    health.setStatus('', 'SERVING');
    server = createGrpcServer({ methods: health.methods, maxReceiveMessageBytes: 1024 * 1024, keepaliveTimeMs: 0, keepaliveTimeoutMs: 1_000 });
    const port = await server.listen('127.0.0.1', 0);
    /** grpc.health.v1.HealthCheckRequest { service } (field 1, length-delimited). */
    const request = (service: string): Buffer => {
      const name = Buffer.from(service);
      const length: number[] = [];
      for (let n = name.length; ; n >>>= 7) {
        if (n < 0x80) {
          length.push(n);
          break;
        }
        length.push((n & 0x7f) | 0x80);
      }
      return frame(Buffer.concat([Buffer.from([0x0a, ...length]), name]));
    };
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const watch = (service: string): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Watch', 'content-type': 'application/grpc', te: 'trailers' });
        stream.on('error', reject);
        stream.once('data', (first: Buffer) => {
          stream.close(http2.constants.NGHTTP2_CANCEL);
          stream.once('close', () => resolve(first));
        });
        stream.end(request(service));
      });
    try {
      // SERVICE_UNKNOWN (enum value 3) for a name never registered, per health-checking.md.
      expect([...(await watch('no.such.Service')).subarray(5)]).toEqual([0x08, 3]);
      const before = liveHeapBytes();
      for (let i = 0; i < 40; i++) await watch(`${i}:${'x'.repeat(256 * 1024)}`);
      await new Promise((r) => setTimeout(r, 50));
      // 40 names of 256 kB: 10 MB if each one is kept.
      expect(liveHeapBytes() - before).toBeLessThan(3 * 1024 * 1024);
    } finally {
      session.close();
    }
  });

  it('percent-encodes grpc-message as the protocol says', () => {
    expect(encodeGrpcMessage('plain text')).toBe('plain text');
    expect(encodeGrpcMessage('100% ü\n')).toBe('100%25 %C3%BC%0A');
  });
});
