/**
 * The HTTP/2 connection layer over real sockets: node:http2's client (nghttp2, with HPACK
 * Huffman strings and a dynamic table) as a well-behaved peer, and hand-written frames for
 * what a well-behaved peer never sends.
 */
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { H2Connection, type H2ConnectionOptions, type H2Stream } from './connection.js';
import { CLIENT_PREFACE, ErrorCode, Flag, frame, FrameType, goawayFrame, rstStreamFrame, Setting, settingsFrame, windowUpdateFrame } from './frames.js';
import { encodeHeaders, HpackDecoder } from './hpack.js';

const OK = encodeHeaders([
  [':status', '200'],
  ['content-type', 'application/octet-stream'],
]);
const TRAILERS = encodeHeaders([['x-done', 'yes']]);

let server: net.Server | undefined;
const connections: H2Connection[] = [];
let errors: string[] = [];

/** A server whose streams are answered by `handle` once their request body has ended. */
async function start(handle: (stream: H2Stream, body: Buffer) => void, overrides: Partial<H2ConnectionOptions> = {}): Promise<number> {
  errors = [];
  server = net.createServer((socket) => {
    const connection = new H2Connection(socket, {
      maxConcurrentStreams: 100,
      receiveWindow: 1024 * 1024,
      maxHeaderListBytes: 16 * 1024,
      maxBufferedBytes: 10 * 1024 * 1024,
      maxQueuedWriteBytes: 8 * 1024 * 1024,
      onError: (err) => errors.push(err.message),
      onStream: (stream) => {
        const parts: Buffer[] = [];
        stream.onData = (chunk) => parts.push(Buffer.from(chunk));
        stream.onEnd = () => handle(stream, Buffer.concat(parts));
      },
      ...overrides,
    });
    connections.push(connection);
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : 0;
}

afterEach(async () => {
  for (const c of connections.splice(0)) c.destroy();
  await new Promise<void>((resolve) => (server === undefined ? resolve() : server.close(() => resolve())));
  server = undefined;
});

interface Answer {
  status: number | undefined;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
  trailers: http2.IncomingHttpHeaders;
}

function request(client: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':method': 'POST', ':path': '/x', ...headers });
    const parts: Buffer[] = [];
    let answer: Omit<Answer, 'body'> = { status: undefined, headers: {}, trailers: {} };
    req.on('response', (h) => (answer = { ...answer, status: Number(h[':status']), headers: h }));
    req.on('trailers', (t) => (answer = { ...answer, trailers: t }));
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => resolve({ ...answer, body: Buffer.concat(parts) }));
    req.on('error', reject);
    req.end(body);
  });
}

/** A hand-driven peer: sends bytes, collects every frame the server sends back. */
interface RawPeer {
  socket: net.Socket;
  frames: Array<{ type: number; flags: number; stream: number; payload: Buffer }>;
  closed: Promise<void>;
  /** Resolves once a frame matching `match` has arrived. */
  waitFor(match: (f: RawPeer['frames'][number]) => boolean, timeoutMs?: number): Promise<RawPeer['frames'][number]>;
}

async function rawPeer(port: number, handshake = true): Promise<RawPeer> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  const frames: RawPeer['frames'] = [];
  let input = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on('data', (chunk: Buffer) => {
    input = Buffer.concat([input, chunk]);
    while (input.length >= 9) {
      const length = input.readUIntBE(0, 3);
      if (input.length < 9 + length) break;
      frames.push({ type: input[3]!, flags: input[4]!, stream: input.readUInt32BE(5) & 0x7fffffff, payload: input.subarray(9, 9 + length) });
      input = input.subarray(9 + length);
    }
    for (const w of waiters.splice(0)) w();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  if (handshake) socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([])]));
  const waitFor: RawPeer['waitFor'] = async (match, timeoutMs = 2_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = frames.find(match);
      if (found !== undefined) return found;
      if (Date.now() > deadline || socket.destroyed) throw new Error(`frame not received; got types ${frames.map((f) => f.type).join(',')}`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  };
  return { socket, frames, closed, waitFor };
}

const REQUEST = encodeHeaders([
  [':method', 'POST'],
  [':scheme', 'http'],
  [':path', '/x'],
  [':authority', 'test'],
  ['content-type', 'application/grpc'],
]);

const goawayCode = (f: { payload: Buffer }): number => f.payload.readUInt32BE(4);
const rstCode = (f: { payload: Buffer }): number => f.payload.readUInt32BE(0);

describe('HTTP/2 server connection', () => {
  it('answers a real HTTP/2 client: headers, a body past the receive window, and trailers, many streams on one connection', async () => {
    const port = await start((stream, body) => stream.respondOnce(OK, Buffer.from(`got ${body.length} bytes, ua ${stream.header('user-agent')}`), TRAILERS));
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      // 3 MB: three times the receive window, so the server must refill windows as it reads.
      const big = await request(client, { 'user-agent': 'peer/1' }, Buffer.alloc(3 * 1024 * 1024, 7));
      expect(big.status).toBe(200);
      expect(big.body.toString()).toBe(`got ${3 * 1024 * 1024} bytes, ua peer/1`);
      expect(big.trailers['x-done']).toBe('yes');
      const many = await Promise.all(Array.from({ length: 80 }, (_, i) => request(client, { 'user-agent': `peer/${i}` }, Buffer.from('x'.repeat(i)))));
      many.forEach((a, i) => expect(a.body.toString()).toBe(`got ${i} bytes, ua peer/${i}`));
    } finally {
      client.close();
    }
  });

  it('holds DATA back until the peer opens its window, then sends the rest and the trailers in order', async () => {
    const payload = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));
    const port = await start((stream) => {
      stream.respond(OK);
      stream.write(payload);
      stream.end(TRAILERS);
    });
    // A 1,000-byte stream window: the 100 kB answer needs ~100 WINDOW_UPDATEs from the client.
    const client = http2.connect(`http://127.0.0.1:${port}`, { settings: { initialWindowSize: 1_000 } });
    try {
      const answer = await request(client, {});
      expect(answer.body.equals(payload)).toBe(true);
      expect(answer.trailers['x-done']).toBe('yes');
    } finally {
      client.close();
    }
  });

  it('decodes a header block split over HEADERS and CONTINUATION frames, with padding', async () => {
    const seen: string[] = [];
    const port = await start((stream) => {
      seen.push(stream.header('x-long') ?? '');
      stream.respond(OK, true);
    });
    const peer = await rawPeer(port);
    const block = encodeHeaders([
      [':method', 'POST'],
      [':scheme', 'http'],
      [':path', '/x'],
      ['x-long', 'v'.repeat(3000)],
    ]);
    const padded = Buffer.concat([Buffer.from([4]), block.subarray(0, 1000), Buffer.alloc(4)]);
    peer.socket.write(
      Buffer.concat([
        frame(FrameType.HEADERS, Flag.PADDED | Flag.END_STREAM, 1, padded),
        frame(FrameType.CONTINUATION, 0, 1, block.subarray(1000, 2000)),
        frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(2000)),
      ]),
    );
    const answer = await peer.waitFor((f) => f.type === FrameType.HEADERS && f.stream === 1);
    expect(new HpackDecoder().decode(answer.payload, 1e6)).toContainEqual([':status', '200']);
    expect(seen).toEqual(['v'.repeat(3000)]);
    peer.socket.destroy();
  });

  it('refuses streams past SETTINGS_MAX_CONCURRENT_STREAMS and keeps serving the others', async () => {
    const held: H2Stream[] = [];
    const port = await start(() => undefined, {
      maxConcurrentStreams: 2,
      onStream: (stream) => held.push(stream),
    });
    const peer = await rawPeer(port);
    for (const id of [1, 3, 5]) peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS, id, REQUEST));
    const refused = await peer.waitFor((f) => f.type === FrameType.RST_STREAM && f.stream === 5);
    expect(rstCode(refused)).toBe(ErrorCode.REFUSED_STREAM);
    expect(held.map((s) => s.id)).toEqual([1, 3]);
    held[0]?.respond(OK, true);
    await peer.waitFor((f) => f.type === FrameType.HEADERS && f.stream === 1);
    peer.socket.destroy();
  });

  it('resets the stream that would take the connection past its buffered-bytes budget', async () => {
    const port = await start(() => undefined, { maxBufferedBytes: 10_000 });
    const peer = await rawPeer(port);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, REQUEST));
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 3, REQUEST));
    peer.socket.write(frame(FrameType.DATA, 0, 1, Buffer.alloc(8_000)));
    peer.socket.write(frame(FrameType.DATA, 0, 3, Buffer.alloc(8_000)));
    const reset = await peer.waitFor((f) => f.type === FrameType.RST_STREAM);
    expect(reset.stream).toBe(3);
    expect(rstCode(reset)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(errors.join()).toContain('more than 10000 request bytes');
    peer.socket.destroy();
  });

  it.each([
    ['a frame larger than SETTINGS_MAX_FRAME_SIZE', frame(FrameType.DATA, 0, 1, Buffer.alloc(16_385)), ErrorCode.FRAME_SIZE_ERROR],
    ['another frame between HEADERS and its CONTINUATION', Buffer.concat([frame(FrameType.HEADERS, 0, 1, REQUEST.subarray(0, 3)), frame(FrameType.PING, 0, 0, Buffer.alloc(8))]), ErrorCode.PROTOCOL_ERROR],
    ['a header block HPACK cannot decode (index 0)', frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80])), ErrorCode.COMPRESSION_ERROR],
    ['HEADERS on an even (server) stream id', frame(FrameType.HEADERS, Flag.END_HEADERS, 2, REQUEST), ErrorCode.PROTOCOL_ERROR],
    ['DATA on a stream never opened', frame(FrameType.DATA, 0, 7, Buffer.from('x')), ErrorCode.PROTOCOL_ERROR],
    ['a SETTINGS payload that is not a multiple of 6 bytes', frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(5)), ErrorCode.FRAME_SIZE_ERROR],
    ['PUSH_PROMISE from a client', frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, Buffer.alloc(4)), ErrorCode.PROTOCOL_ERROR],
    ['a connection WINDOW_UPDATE past 2^31-1', windowUpdateFrame(0, 0x7fffffff), ErrorCode.FLOW_CONTROL_ERROR],
  ])('ends the connection with GOAWAY on %s', async (_what, bytes, code) => {
    const port = await start((stream) => stream.respond(OK, true));
    const peer = await rawPeer(port);
    peer.socket.write(bytes);
    const goaway = await peer.waitFor((f) => f.type === FrameType.GOAWAY);
    expect(goawayCode(goaway)).toBe(code);
    await peer.closed;
    expect(errors.length).toBeGreaterThan(0);
  });

  it('rejects malformed requests with RST_STREAM and keeps the connection', async () => {
    const port = await start((stream) => stream.respond(OK, true));
    const peer = await rawPeer(port);
    const upper = encodeHeaders([[':method', 'POST'], [':scheme', 'http'], [':path', '/x'], ['X-Upper', '1']]);
    const noPath = encodeHeaders([[':method', 'POST'], [':scheme', 'http']]);
    const connectionHeader = encodeHeaders([[':method', 'POST'], [':scheme', 'http'], [':path', '/x'], ['connection', 'close']]);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, upper));
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, noPath));
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 5, connectionHeader));
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 7, REQUEST));
    await peer.waitFor((f) => f.type === FrameType.HEADERS && f.stream === 7);
    for (const id of [1, 3, 5]) expect(rstCode(await peer.waitFor((f) => f.type === FrameType.RST_STREAM && f.stream === id))).toBe(ErrorCode.PROTOCOL_ERROR);
    peer.socket.destroy();
  });

  it('answers 431 to a header list past SETTINGS_MAX_HEADER_LIST_SIZE and stays in step for the next request', async () => {
    const port = await start((stream) => stream.respond(OK, true), { maxHeaderListBytes: 1_000 });
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    try {
      const big = await request(client, { 'x-big': 'b'.repeat(2_000) }).catch((err: Error) => err);
      // nghttp2 may refuse to send a list past the advertised limit itself; either way no 200.
      expect(big instanceof Error ? 'refused by client' : String(big.status)).toMatch(/^(431|refused by client)$/);
      expect((await request(client, { 'x-small': 'ok' })).status).toBe(200);
    } finally {
      client.close();
    }
  });

  it('decodes a refused header block into the HPACK table all the same, so the next request on the connection reads right', async () => {
    const seen: string[] = [];
    const port = await start((stream) => {
      seen.push(stream.header('x-small') ?? 'missing');
      stream.respond(OK, true);
    }, { maxHeaderListBytes: 1_000 });
    const peer = await rawPeer(port);
    // 'x-small: ok' with incremental indexing (RFC 7541 §6.2.1) becomes dynamic entry 62.
    const indexed = Buffer.concat([Buffer.from([0x40, 7]), Buffer.from('x-small'), Buffer.from([2]), Buffer.from('ok')]);
    const big = encodeHeaders([['x-big', 'b'.repeat(2_000)]]);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, Buffer.concat([REQUEST, indexed, big])));
    const refused = await peer.waitFor((f) => f.type === FrameType.HEADERS && f.stream === 1);
    expect(new HpackDecoder().decode(refused.payload, 1e6)).toEqual([[':status', '431']]);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, Buffer.concat([REQUEST, Buffer.from([0x80 | 62])])));
    await peer.waitFor((f) => f.type === FrameType.HEADERS && f.stream === 3);
    expect(seen).toEqual(['ok']);
    peer.socket.destroy();
  });

  it('closes a socket that does not start with the HTTP/2 preface', async () => {
    const port = await start((stream) => stream.respond(OK, true));
    const peer = await rawPeer(port, false);
    peer.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await peer.closed;
    expect(errors.join()).toContain('preface');
  });

  it('acknowledges PINGs, and its own ping resolves on the ACK', async () => {
    const port = await start((stream) => stream.respond(OK, true));
    const peer = await rawPeer(port);
    peer.socket.write(frame(FrameType.PING, 0, 0, Buffer.from('12345678')));
    const ack = await peer.waitFor((f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0);
    expect(ack.payload.toString()).toBe('12345678');
    // The client side acknowledges the server's ping.
    const client = http2.connect(`http://127.0.0.1:${port}`);
    await new Promise<void>((resolve) => client.once('remoteSettings', () => resolve()));
    const answered = await new Promise<Error | null>((resolve) => connections.at(-1)?.ping(resolve));
    expect(answered).toBeNull();
    client.close();
    peer.socket.destroy();
  });

  it('closes gracefully: GOAWAY first, the open stream still answered, then the socket ends', async () => {
    const pending: H2Stream[] = [];
    const port = await start((stream) => pending.push(stream));
    const peer = await rawPeer(port);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, REQUEST));
    await new Promise<void>((resolve) => setTimeout(resolve, 50));
    connections[0]?.close();
    const goaway = await peer.waitFor((f) => f.type === FrameType.GOAWAY);
    expect(goawayCode(goaway)).toBe(ErrorCode.NO_ERROR);
    expect(goaway.payload.readUInt32BE(0)).toBe(1);
    // A stream opened after GOAWAY is refused.
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 3, REQUEST));
    expect(rstCode(await peer.waitFor((f) => f.type === FrameType.RST_STREAM && f.stream === 3))).toBe(ErrorCode.REFUSED_STREAM);
    pending[0]?.respondOnce(OK, Buffer.from('late'), TRAILERS);
    await peer.waitFor((f) => f.type === FrameType.DATA && f.stream === 1);
    await peer.closed;
  });

  it('ends when the peer says GOAWAY and its last stream is done', async () => {
    const port = await start((stream) => setTimeout(() => stream.respond(OK, true), 30));
    const peer = await rawPeer(port);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, REQUEST));
    peer.socket.write(goawayFrame(0, ErrorCode.NO_ERROR));
    await peer.waitFor((f) => f.type === FrameType.HEADERS && f.stream === 1);
    await peer.closed;
  });

  it('ends a flood of empty CONTINUATION frames with GOAWAY instead of collecting them', async () => {
    const port = await start((stream) => stream.respond(OK, true));
    const peer = await rawPeer(port);
    // Every frame counts against the header block limit, its 9-byte header included.
    const empty = frame(FrameType.CONTINUATION, 0, 1);
    peer.socket.write(Buffer.concat([frame(FrameType.HEADERS, 0, 1, REQUEST.subarray(0, 3)), ...Array<Buffer>(40_000).fill(empty)]));
    const goaway = await peer.waitFor((f) => f.type === FrameType.GOAWAY);
    expect(goawayCode(goaway)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    await peer.closed;
  });

  it('drops a peer that never opens its stream window while the server keeps writing', async () => {
    const port = await start(
      (stream) => {
        stream.respond(OK);
        for (let i = 0; i < 10; i++) stream.write(Buffer.alloc(100_000));
      },
      { maxQueuedWriteBytes: 500_000 },
    );
    const peer = await rawPeer(port, false);
    peer.socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0]])]));
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, REQUEST));
    await expect.poll(() => errors.join()).toContain('unread');
    await peer.closed;
  });

  it('drops a peer that floods PINGs while leaving the ACKs unread', async () => {
    // The answer fills the socket buffers; from then on every PING ACK is one more queued write.
    let answered = false;
    const port = await start((stream) => {
      stream.respond(OK);
      stream.write(Buffer.alloc(12 * 1024 * 1024));
      answered = true;
    }, { maxQueuedWriteBytes: 32 * 1024 * 1024 });
    const peer = await rawPeer(port, false);
    peer.socket.pause();
    peer.socket.write(Buffer.concat([CLIENT_PREFACE, settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0x7fffffff]]), windowUpdateFrame(0, 0x7fffffff - 65_535)]));
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, REQUEST));
    await expect.poll(() => answered).toBe(true);
    const ping = frame(FrameType.PING, 0, 0, Buffer.alloc(8));
    peer.socket.write(Buffer.concat(Array<Buffer>(20_000).fill(ping)));
    await expect.poll(() => errors.join(), { timeout: 3_000 }).toContain('writes of output unread');
    peer.socket.destroy();
  });

  it('reports a stream callback that throws when the peer drops the connection, instead of throwing from the socket event', async () => {
    let opened = 0;
    const port = await start(() => undefined, {
      onStream: (stream) => {
        opened++;
        stream.onClose = () => {
          throw new Error('handler bug on close');
        };
      },
    });
    const peer = await rawPeer(port);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, REQUEST));
    await expect.poll(() => opened).toBe(1);
    peer.socket.destroy();
    await expect.poll(() => errors.join()).toContain('handler bug on close');
  });

  it('ends the connection with FLOW_CONTROL_ERROR when SETTINGS_INITIAL_WINDOW_SIZE would take a stream window past 2^31-1', async () => {
    const port = await start(() => undefined);
    const peer = await rawPeer(port);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS, 1, REQUEST));
    peer.socket.write(windowUpdateFrame(1, 0x7fffffff - 65_535));
    peer.socket.write(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 65_536]]));
    const goaway = await peer.waitFor((f) => f.type === FrameType.GOAWAY);
    expect(goawayCode(goaway)).toBe(ErrorCode.FLOW_CONTROL_ERROR);
  });

  it('holds DATA while SETTINGS_INITIAL_WINDOW_SIZE makes a stream window negative, and sends exactly what the window allows once it is raised', async () => {
    const writes: H2Stream[] = [];
    const port = await start((stream) => {
      stream.respond(OK);
      stream.write(Buffer.alloc(60_000, 1));
      writes.push(stream);
    });
    const peer = await rawPeer(port);
    peer.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, REQUEST));
    await peer.waitFor((f) => f.type === FrameType.DATA);
    const sent = (): number => peer.frames.filter((f) => f.type === FrameType.DATA).reduce((n, f) => n + f.payload.length, 0);
    // 60,000 of 65,535 used; a new initial window of 0 leaves the stream at -60,000.
    const acks = (): number => peer.frames.filter((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0).length;
    await expect.poll(acks).toBe(1);
    peer.socket.write(settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 0]]));
    await expect.poll(acks).toBe(2);
    writes[0]?.write(Buffer.alloc(20_000, 2));
    writes[0]?.end(TRAILERS);
    peer.socket.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await peer.waitFor((f) => f.type === FrameType.PING);
    expect(sent()).toBe(60_000);
    // 70,000 - 60,000 = 10,000 bytes of window; the connection window has 5,535 left, so open it too.
    peer.socket.write(Buffer.concat([windowUpdateFrame(0, 100_000), settingsFrame([[Setting.INITIAL_WINDOW_SIZE, 70_000]])]));
    await expect.poll(sent).toBe(70_000);
    expect(peer.frames.some((f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0)).toBe(false);
    peer.socket.write(windowUpdateFrame(1, 10_000));
    const trailers = await peer.waitFor((f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0);
    expect(sent()).toBe(80_000);
    expect(trailers.stream).toBe(1);
    peer.socket.destroy();
  });

  it('reads frames that arrive a few bytes at a time, split anywhere, and answers them', async () => {
    const bodies: string[] = [];
    const port = await start((stream, body) => {
      bodies.push(body.toString());
      stream.respondOnce(OK, Buffer.from('ok'), TRAILERS);
    });
    const peer = await rawPeer(port);
    peer.socket.setNoDelay(true);
    const bytes = Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, 1, REQUEST), frame(FrameType.DATA, Flag.END_STREAM, 1, Buffer.from('x'.repeat(5_000)))]);
    // Pieces of 1, 7 and 3,000 bytes cross the 9-byte frame headers and the payloads.
    for (let at = 0, i = 0; at < bytes.length; i++) {
      const size = [1, 7, 3_000][i % 3]!;
      peer.socket.write(bytes.subarray(at, at + size));
      at += size;
      await new Promise((r) => setImmediate(r));
    }
    await peer.waitFor((f) => f.type === FrameType.HEADERS && (f.flags & Flag.END_STREAM) !== 0);
    expect(bodies).toEqual(['x'.repeat(5_000)]);
    peer.socket.destroy();
  });

  it('ends a connection that keeps opening streams and cancelling them before they are answered (rapid reset), but not one that cancels a few', async () => {
    const port = await start(() => undefined);
    const cancel = (from: number, count: number): Buffer =>
      Buffer.concat(Array.from({ length: count }, (_, i) => [frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, from + 2 * i, REQUEST), rstStreamFrame(from + 2 * i, ErrorCode.CANCEL)]).flat());
    const calm = await rawPeer(port);
    calm.socket.write(cancel(1, 500));
    calm.socket.write(frame(FrameType.PING, 0, 0, Buffer.alloc(8)));
    await calm.waitFor((f) => f.type === FrameType.PING);
    expect(calm.frames.some((f) => f.type === FrameType.GOAWAY)).toBe(false);
    const flood = await rawPeer(port);
    flood.socket.write(cancel(1, 1_100));
    const goaway = await flood.waitFor((f) => f.type === FrameType.GOAWAY);
    expect(goawayCode(goaway)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(errors.join()).toContain('cancelled by the peer');
    calm.socket.destroy();
  });

  it('holds request bytes of all connections sharing a budget within it: the stream that would pass it is reset, on whichever connection', async () => {
    const shared = { used: 0, max: 12_000 };
    const port = await start(() => undefined, { sharedBuffer: shared });
    const first = await rawPeer(port);
    const second = await rawPeer(port);
    first.socket.write(Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, 1, REQUEST), frame(FrameType.DATA, 0, 1, Buffer.alloc(8_000))]));
    await expect.poll(() => shared.used).toBe(8_000);
    second.socket.write(Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, 1, REQUEST), frame(FrameType.DATA, 0, 1, Buffer.alloc(8_000))]));
    const reset = await second.waitFor((f) => f.type === FrameType.RST_STREAM);
    expect(rstCode(reset)).toBe(ErrorCode.ENHANCE_YOUR_CALM);
    expect(errors.join()).toContain("all connections' streams would hold more than 12000");
    // Closing the first connection returns its bytes to the budget.
    first.socket.destroy();
    await expect.poll(() => shared.used).toBe(0);
    second.socket.write(Buffer.concat([frame(FrameType.HEADERS, Flag.END_HEADERS, 3, REQUEST), frame(FrameType.DATA, 0, 3, Buffer.alloc(8_000))]));
    await expect.poll(() => shared.used).toBe(8_000);
    second.socket.destroy();
  });
});
