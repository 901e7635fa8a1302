/**
 * A small gRPC server on this project's own HTTP/2 layer (h2/connection.ts): unary and
 * server-streaming methods, identity encoding only, HTTP/2 keepalive pings, graceful close.
 * It exists for the authz service's tail latency: @grpc/grpc-js kept per-call objects alive
 * across young-generation GCs (10–20 ms scavenges at 2k checks/s), and node:http2's per-stream
 * objects still cost a p99 of 3–8 ms on a bare server.
 *
 * Wire format (gRPC over HTTP/2, grpc/grpc doc PROTOCOL-HTTP2.md): requests are POSTs to
 * `/<service>/<method>` with `content-type: application/grpc…`; each message is a 1-byte
 * compressed flag, a 4-byte big-endian length and the protobuf bytes; the status travels in
 * the trailers (`grpc-status`, percent-encoded `grpc-message`), or in the response headers of
 * a trailers-only response.
 */
import net from 'node:net';
import { H2Connection, type BufferBudget, type H2Stream } from './h2/connection.js';
import { ErrorCode as H2ErrorCode } from './h2/frames.js';
import { encodeHeaders, type HeaderField } from './h2/hpack.js';

/** The gRPC status codes this server sends (grpc/grpc doc statuscodes.md). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** A failure a handler wants its caller to see as this gRPC status. */
export class GrpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

interface Codec<Req, Res> {
  decode(message: Buffer): Req;
  encode(response: Res): Buffer;
}

export interface UnaryMethod<Req, Res> extends Codec<Req, Res> {
  readonly kind: 'unary';
  handle(request: Req): Res | Promise<Res>;
}

/** Writes the messages of one server-streaming call. */
export interface StreamWriter<Res> {
  write(response: Res): void;
  /** Ends the call with OK. */
  end(): void;
  /** Runs once when the call ends for any reason (client cancel, server close, end()). */
  onClose(listener: () => void): void;
}

export interface ServerStreamMethod<Req, Res> extends Codec<Req, Res> {
  readonly kind: 'server-stream';
  handle(request: Req, writer: StreamWriter<Res>): void;
}

// Handlers are stored type-erased; each route's codec and handler agree by construction.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type GrpcMethod = UnaryMethod<any, any> | ServerStreamMethod<any, any>;

export interface GrpcServerOptions {
  /** `/<package>.<Service>/<Method>` → method. */
  readonly methods: ReadonlyMap<string, GrpcMethod>;
  /** Largest request message accepted (bytes, without the 5-byte prefix). */
  readonly maxReceiveMessageBytes: number;
  /** Ping each connection this often; 0 disables keepalive. */
  readonly keepaliveTimeMs: number;
  /** Close a connection whose ping is not answered within this time. */
  readonly keepaliveTimeoutMs: number;
  /**
   * Reset a call whose request body is not complete this long after its headers (default
   * 30 s), so a sender that stalls cannot hold its buffer for as long as the connection lives.
   * Envoy sends the body it buffered at once and gives up far sooner (ext_authz `timeout`).
   */
  readonly receiveTimeoutMs?: number;
  /** Request bytes all connections' open calls may hold together (default 128 MiB, at least 4 messages). */
  readonly maxBufferedBytesTotal?: number;
  /** Connections accepted at once (default 4,096; Envoy opens about one per worker thread per sidecar). */
  readonly maxConnections?: number;
  /** Called for faults that end a call or connection (never for a handler's GrpcError). */
  readonly onError?: (err: Error, context: string) => void;
}

export interface GrpcServer {
  /** Resolves with the bound port. */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting; open calls get graceMs to finish, then connections are cut. */
  close(graceMs: number): Promise<void>;
}

const PREFIX_BYTES = 5;
const DEFAULT_MAX_BUFFERED_TOTAL = 128 * 1024 * 1024;
const DEFAULT_MAX_CONNECTIONS = 4_096;
const STATUS_405 = encodeHeaders([[':status', '405']]);
const STATUS_415 = encodeHeaders([[':status', '415']]);
const MAX_CONCURRENT_STREAMS = 256;
const RESPONSE_FIELDS: readonly HeaderField[] = [
  [':status', '200'],
  ['content-type', 'application/grpc'],
  ['grpc-accept-encoding', 'identity'],
];
// Encoded once: every answer sends the same header and trailer blocks.
const RESPONSE_HEADERS = encodeHeaders(RESPONSE_FIELDS);
const OK_TRAILERS = encodeHeaders([['grpc-status', '0']]);
/** Receive window per stream and connection: Envoy's buffered body goes out without waiting. */
const RECEIVE_WINDOW = 1024 * 1024;
const MAX_HEADER_LIST_BYTES = 64 * 1024;
/** Answers a peer may leave unread before its connection is dropped. */
const MAX_QUEUED_WRITE_BYTES = 8 * 1024 * 1024;

/** A call's status as header fields (trailers, or the end of a trailers-only response). */
function statusFields(code: number, message: string): HeaderField[] {
  return [
    ['grpc-status', String(code)],
    ['grpc-message', encodeGrpcMessage(message)],
  ];
}

/** grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself. */
export function encodeGrpcMessage(message: string): string {
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** One uncompressed gRPC message: the 5-byte prefix (flag 0, big-endian length) and the bytes. */
export function grpcFrame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(PREFIX_BYTES + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  message.copy(out, PREFIX_BYTES);
  return out;
}

/** Ends a call that has sent no headers yet with a status and no message. */
function trailersOnly(stream: H2Stream, code: number, message: string): void {
  if (!stream.isOpen() || stream.headersSent) return;
  stream.respond(encodeHeaders([...RESPONSE_FIELDS, ...statusFields(code, message)]), true);
}

/**
 * Splits a complete unary request body into its one message. Returns a GrpcError for
 * anything else: a truncated prefix or message, more than one message, or compression.
 */
function singleMessage(body: Buffer): Buffer | GrpcError {
  if (body.length < PREFIX_BYTES) return new GrpcError(GrpcStatus.INTERNAL, 'request has no complete message');
  if (body[0] !== 0) return new GrpcError(GrpcStatus.UNIMPLEMENTED, 'compressed messages are not supported (identity only)');
  const length = body.readUInt32BE(1);
  if (body.length < PREFIX_BYTES + length) return new GrpcError(GrpcStatus.INTERNAL, 'request message is truncated');
  if (body.length > PREFIX_BYTES + length) return new GrpcError(GrpcStatus.UNIMPLEMENTED, 'a unary call takes exactly one request message');
  return body.subarray(PREFIX_BYTES);
}

/**
 * A request body as it arrives. The HTTP/2 layer hands each DATA frame over as its own view
 * into a read buffer, so keeping the chunks would cost a Buffer object per frame (hundreds of bytes of heap
 * for a 1-byte frame); after the first chunk they are copied into one buffer grown by doubling,
 * which holds at most twice the bytes received.
 */
class RequestBody {
  private first: Buffer | undefined;
  private joined: Buffer | undefined;
  private length = 0;

  constructor(private readonly maxBytes: number) {}

  /** False (and nothing kept) once the body would pass maxBytes. */
  add(chunk: Buffer): boolean {
    const length = this.length + chunk.length;
    if (length > this.maxBytes) return false;
    if (this.length === 0) {
      this.first = chunk;
    } else {
      if (this.joined === undefined || this.joined.length < length) {
        const grown = Buffer.allocUnsafe(Math.min(this.maxBytes, Math.max(length, 2 * this.length, 1024)));
        (this.joined ?? this.first)?.copy(grown, 0, 0, this.length);
        this.joined = grown;
        this.first = undefined;
      }
      chunk.copy(this.joined, this.length);
    }
    this.length = length;
    return true;
  }

  /** The length in the message prefix, once its 5 bytes are here. */
  declaredLength(): number | undefined {
    if (this.length < PREFIX_BYTES) return undefined;
    return (this.joined ?? this.first)?.readUInt32BE(1);
  }

  take(): Buffer {
    const body = this.joined?.subarray(0, this.length) ?? this.first ?? Buffer.alloc(0);
    this.clear();
    return body;
  }

  clear(): void {
    this.first = undefined;
    this.joined = undefined;
    this.length = 0;
  }
}

/**
 * Resets streams whose request body has not ended within the timeout. One sweep timer for
 * all streams (running only while some are watched) instead of a timer per call, and an
 * array with each stream's position in its `mark` instead of a Map: entries come and go at
 * request rate, and a Map allocates as they do.
 */
class ReceiveDeadlines {
  private readonly watched: H2Stream[] = [];
  private readonly deadlines: number[] = [];
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly timeoutMs: number) {}

  watch(stream: H2Stream): void {
    stream.mark = this.watched.length;
    this.watched.push(stream);
    this.deadlines.push(performance.now() + this.timeoutMs);
    if (this.sweeper === undefined) {
      this.sweeper = setInterval(() => this.sweep(), Math.max(5, Math.min(1_000, this.timeoutMs / 4)));
      this.sweeper.unref();
    }
  }

  done(stream: H2Stream): void {
    const at = stream.mark;
    if (at < 0 || this.watched[at] !== stream) return;
    // Swap-remove: the last entry takes this one's place.
    const last = this.watched.length - 1;
    const moved = this.watched[last]!;
    this.watched[at] = moved;
    this.deadlines[at] = this.deadlines[last]!;
    moved.mark = at;
    this.watched.pop();
    this.deadlines.pop();
    stream.mark = -1;
  }

  stop(): void {
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  private sweep(): void {
    const now = performance.now();
    for (let i = this.watched.length - 1; i >= 0; i--) {
      const stream = this.watched[i]!;
      if (stream.closed) this.done(stream);
      else if (now >= this.deadlines[i]!) {
        this.done(stream);
        stream.reset(H2ErrorCode.CANCEL);
      }
    }
    if (this.watched.length === 0) this.stop();
  }
}

export function createGrpcServer(options: GrpcServerOptions): GrpcServer {
  const { methods, maxReceiveMessageBytes } = options;
  const receiveTimeoutMs = options.receiveTimeoutMs ?? 30_000;
  // A throwing onError (a broken logger) must not become an uncaught exception in an event handler.
  const onError = (err: Error, context: string): void => {
    try {
      options.onError?.(err, context);
    } catch {
      // Nothing better to report it to.
    }
  };
  const maxBodyBytes = maxReceiveMessageBytes + PREFIX_BYTES;
  const receiveDeadlines = new ReceiveDeadlines(receiveTimeoutMs);
  const connections = new Set<H2Connection>();
  // Request bodies held by all connections together: many connections must not add up past it.
  const sharedBuffer: BufferBudget = { used: 0, max: options.maxBufferedBytesTotal ?? Math.max(DEFAULT_MAX_BUFFERED_TOTAL, 4 * maxBodyBytes) };
  const streamingCalls = new Set<() => void>();
  const server = net.createServer((socket) => {
    // An answer is one small write: send it now rather than wait for Nagle's algorithm.
    socket.setNoDelay(true);
    const connection = new H2Connection(socket, {
      maxConcurrentStreams: MAX_CONCURRENT_STREAMS,
      receiveWindow: RECEIVE_WINDOW,
      maxHeaderListBytes: MAX_HEADER_LIST_BYTES,
      // Every open stream may hold a body of up to maxBodyBytes; together no more than this.
      maxBufferedBytes: Math.max(10 * 1024 * 1024, 4 * maxBodyBytes),
      sharedBuffer,
      maxQueuedWriteBytes: MAX_QUEUED_WRITE_BYTES,
      onStream,
      onError: (err) => onError(err, 'connection'),
    });
    connections.add(connection);
    let keepalive: NodeJS.Timeout | undefined;
    if (options.keepaliveTimeMs > 0) {
      keepalive = setInterval(() => {
        if (connection.destroyed) return;
        const deadline = setTimeout(() => connection.destroy(new Error('keepalive ping not answered')), options.keepaliveTimeoutMs);
        deadline.unref();
        const sent = connection.ping((err) => {
          clearTimeout(deadline);
          if (err !== null) connection.destroy();
        });
        if (!sent) clearTimeout(deadline);
      }, options.keepaliveTimeMs);
      keepalive.unref();
    }
    connection.onClose = () => {
      connections.delete(connection);
      if (keepalive !== undefined) clearInterval(keepalive);
    };
  });
  // Past this many connections, net.Server closes new ones as they arrive.
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;

  function onStream(stream: H2Stream): void {
    // Whatever becomes of the request (answered, refused, running), its body must end in time.
    receiveDeadlines.watch(stream);
    if (stream.header(':method') !== 'POST') {
      stream.respond(STATUS_405, true);
      return;
    }
    const contentType = stream.header('content-type');
    if (contentType === undefined || !contentType.startsWith('application/grpc')) {
      stream.respond(STATUS_415, true);
      return;
    }
    const path = stream.header(':path') ?? '';
    const method = methods.get(path);
    if (method === undefined) {
      trailersOnly(stream, GrpcStatus.UNIMPLEMENTED, `unknown method ${path}`);
      return;
    }

    const body = new RequestBody(maxBodyBytes);
    let refused = false;
    stream.onData = (chunk: Buffer) => {
      if (refused) return;
      if (!body.add(chunk) || (body.declaredLength() ?? 0) > maxReceiveMessageBytes) {
        // Drop what we hold and answer now; the connection drops the rest of the body.
        refused = true;
        body.clear();
        trailersOnly(stream, GrpcStatus.RESOURCE_EXHAUSTED, `request message larger than max (${maxReceiveMessageBytes} bytes)`);
      }
    };
    stream.onEnd = () => {
      receiveDeadlines.done(stream);
      if (refused) return;
      const message = singleMessage(body.take());
      if (message instanceof GrpcError) {
        trailersOnly(stream, message.code, message.message);
        return;
      }
      let request: unknown;
      try {
        request = method.decode(message);
      } catch (err) {
        trailersOnly(stream, GrpcStatus.INTERNAL, `cannot decode the request: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      if (method.kind === 'unary') answerUnary(stream, method, request);
      else openServerStream(stream, method, request);
    };
  }

  /** The status a failure is answered with: a GrpcError as it is, any other fault reported and answered INTERNAL without its detail. */
  const statusOf = (err: unknown, context: string): GrpcError => {
    if (err instanceof GrpcError) return err;
    onError(err instanceof Error ? err : new Error(String(err)), context);
    return new GrpcError(GrpcStatus.INTERNAL, 'internal error');
  };
  const fail = (stream: H2Stream, err: unknown, context: string): void => {
    const status = statusOf(err, context);
    trailersOnly(stream, status.code, status.message);
  };

  function answerUnary(stream: H2Stream, method: UnaryMethod<unknown, unknown>, request: unknown): void {
    const send = (response: unknown): void => {
      if (!stream.isOpen()) return;
      let payload: Buffer;
      try {
        payload = grpcFrame(method.encode(response));
      } catch (err) {
        fail(stream, err, 'encoding a response');
        return;
      }
      stream.respondOnce(RESPONSE_HEADERS, payload, OK_TRAILERS);
    };
    let result: unknown;
    try {
      result = method.handle(request);
    } catch (err) {
      fail(stream, err, 'handling a call');
      return;
    }
    if (result instanceof Promise) result.then(send, (err: unknown) => fail(stream, err, 'handling a call'));
    else send(result);
  }

  function openServerStream(stream: H2Stream, method: ServerStreamMethod<unknown, unknown>, request: unknown): void {
    const closeListeners: Array<() => void> = [];
    let ended = false;
    let trailers = OK_TRAILERS;
    const finish = (): void => {
      if (ended) return;
      ended = true;
      streamingCalls.delete(endCall);
      for (const listener of closeListeners) listener();
    };
    const ensureHeaders = (): void => {
      if (!stream.headersSent) stream.respond(RESPONSE_HEADERS);
    };
    const endCall = (): void => {
      if (ended) return;
      if (stream.isOpen()) {
        ensureHeaders();
        stream.end(trailers);
      }
      finish();
    };
    const abort = (err: unknown, context: string): void => {
      if (!stream.headersSent) {
        finish();
        fail(stream, err, context);
        return;
      }
      // Messages are already out: the status goes in the trailers.
      const status = statusOf(err, context);
      trailers = encodeHeaders(statusFields(status.code, status.message));
      endCall();
    };
    streamingCalls.add(endCall);
    stream.onClose = finish;
    const writer: StreamWriter<unknown> = {
      write: (response) => {
        if (ended || !stream.isOpen()) return;
        let payload: Buffer;
        try {
          payload = grpcFrame(method.encode(response));
        } catch (err) {
          abort(err, 'encoding a streamed message');
          return;
        }
        ensureHeaders();
        stream.write(payload);
      },
      end: endCall,
      onClose: (listener) => {
        if (ended) listener();
        else closeListeners.push(listener);
      },
    };
    try {
      method.handle(request, writer);
    } catch (err) {
      abort(err, 'handling a streaming call');
    }
  }

  return {
    listen: (host, port) =>
      new Promise<number>((resolve, reject) => {
        const onListenError = (err: Error): void => reject(err);
        server.once('error', onListenError);
        server.listen(port, host, () => {
          server.off('error', onListenError);
          server.on('error', (err: Error) => onError(err, 'server'));
          const address = server.address();
          resolve(typeof address === 'object' && address !== null ? address.port : port);
        });
      }),
    close: (graceMs) =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        receiveDeadlines.stop();
        const timer = setTimeout(() => {
          for (const connection of connections) connection.destroy();
        }, graceMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        // Streaming calls (health watches) would hold their connection open: end them first.
        for (const endCall of [...streamingCalls]) endCall();
        for (const connection of connections) connection.close();
      }),
  };
}
