/**
 * The server side of one HTTP/2 connection (RFC 9113), written on a net.Socket for the gRPC
 * server. node:http2 gives every request a Duplex stream, an emitter, header objects and a
 * native handle; at 2,000 requests/s on a two-core host its garbage and the full GCs that
 * followed were most of the authz service's tail latency (a bare node:http2 server answered
 * with a p99 of 3–8 ms, this layer with 0.35 ms). This layer keeps per-request state to one
 * small object with callbacks, hands DATA payloads over as views of the read buffer, and
 * writes a unary answer (headers, message, trailers) in one socket write.
 *
 * What a gRPC server needs and nothing more: no server push, no priorities (PRIORITY frames
 * are read and ignored), no CONNECT. Request bodies are handed to the caller as they arrive,
 * so receive windows are refilled as frames are read; memory is bounded instead by a budget
 * of bytes the connection's open streams may hold (maxBufferedBytes) and by a cap on output
 * a peer leaves unread (maxQueuedWriteBytes).
 */
import type net from 'node:net';
import { encodeHeaders, HeaderListTooLarge, HpackDecoder, HpackError, type HeaderField } from './hpack.js';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  ErrorCode,
  Flag,
  frame,
  FRAME_HEADER_BYTES,
  frameLength,
  FrameType,
  goawayFrame,
  MAX_FRAME_SIZE_LIMIT,
  MAX_WINDOW,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames.js';

export interface H2ConnectionOptions {
  /** SETTINGS_MAX_CONCURRENT_STREAMS: streams past it are refused (REFUSED_STREAM). */
  readonly maxConcurrentStreams: number;
  /** Receive window advertised for the connection and for each stream. */
  readonly receiveWindow: number;
  /** SETTINGS_MAX_HEADER_LIST_SIZE: a larger request is answered 431. */
  readonly maxHeaderListBytes: number;
  /** Request bytes the connection's open streams may hold together; the DATA frame that would pass it resets its stream. */
  readonly maxBufferedBytes: number;
  /** The same bound across all of a server's connections (one object shared by them), so many connections cannot add up. */
  readonly sharedBuffer?: BufferBudget;
  /** Output a peer may leave unread, or keep waiting for its flow-control window, before the connection is dropped. */
  readonly maxQueuedWriteBytes: number;
  readonly onStream: (stream: H2Stream) => void;
  /** A fault that ended the connection (protocol error from the peer, socket error). */
  readonly onError: (err: Error) => void;
}

/** Request bytes held by the streams of every connection that shares this object. */
export interface BufferBudget {
  used: number;
  readonly max: number;
}

/** A connection error: the connection ends with GOAWAY carrying `code`. */
export class H2ProtocolError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const STATUS_431 = encodeHeaders([[':status', '431']]);
/**
 * Writes a peer may leave queued in the socket (past its high-water mark, no 'drain' since).
 * maxQueuedWriteBytes alone does not bound a PING or SETTINGS flood: each 9- or 17-byte ACK
 * is its own Buffer and write request, several times its size in heap.
 */
const MAX_WRITES_AWAITING_DRAIN = 10_000;
const RESET_BURST = 1_000;
const RESETS_PER_SECOND = 100;
/** A compressed header block (with its frames' headers) larger than this is refused before decoding. */
const MAX_HEADER_BLOCK_BYTES = 256 * 1024;

/** One request/response exchange. Handlers are plain properties: no emitter per request. */
export class H2Stream {
  /** Request header fields as decoded, pseudo-headers first (checked by validRequest). */
  readonly fields: readonly HeaderField[];
  onData: ((chunk: Buffer) => void) | undefined;
  onEnd: (() => void) | undefined;
  /** Runs once when the stream closes for any reason (answered, reset, connection gone). */
  onClose: (() => void) | undefined;
  headersSent = false;
  /** Request bytes this stream holds against the connection's budget. */
  held = 0;
  /** Received bytes not yet returned to the peer's stream window. */
  unacked = 0;
  sendWindow: number;
  remoteEnded = false;
  localEnded = false;
  closed = false;
  /** DATA waiting for flow-control window, then the trailers to send after it. */
  queue: Buffer[] | undefined;
  queuedTrailers: Buffer | undefined;
  /** The next stream in the same slot of the connection's stream table. */
  nextInSlot: H2Stream | undefined;
  /** For the caller's bookkeeping (a position in its own list), so it needs no Map per request. */
  mark = -1;

  constructor(
    readonly id: number,
    private readonly connection: H2Connection,
    fields: readonly HeaderField[],
    sendWindow: number,
  ) {
    this.fields = fields;
    this.sendWindow = sendWindow;
  }

  /** The value of a request header (the first, if repeated), or undefined. */
  header(name: string): string | undefined {
    for (const [n, v] of this.fields) if (n === name) return v;
    return undefined;
  }

  /** True while a response can still be sent. */
  isOpen(): boolean {
    return !this.closed && !this.localEnded;
  }

  /** Sends response headers (an HPACK block from encodeHeaders); endStream ends the response. */
  respond(block: Buffer, endStream = false): void {
    if (!this.isOpen() || this.headersSent) return;
    this.headersSent = true;
    this.connection.writeHeaders(this, block, endStream);
    if (endStream) this.connection.localEnd(this);
  }

  /** Sends DATA, held back while flow control does not allow it. */
  write(data: Buffer): void {
    if (!this.isOpen()) return;
    this.connection.writeData(this, data);
  }

  /** Ends the response with trailers, after any queued DATA. */
  end(trailers: Buffer): void {
    if (!this.isOpen()) return;
    if (this.queue !== undefined) {
      this.queuedTrailers = trailers;
      return;
    }
    this.connection.writeHeaders(this, trailers, true);
    this.connection.localEnd(this);
  }

  /** Headers, one message and trailers: one socket write when the windows allow it. */
  respondOnce(headers: Buffer, data: Buffer, trailers: Buffer): void {
    if (!this.isOpen() || this.headersSent) return;
    this.headersSent = true;
    if (!this.connection.writeUnary(this, headers, data, trailers)) {
      this.connection.writeHeaders(this, headers, false);
      this.write(data);
      this.end(trailers);
      return;
    }
    this.connection.localEnd(this);
  }

  /** Ends the stream with RST_STREAM. */
  reset(code: number = ErrorCode.CANCEL): void {
    if (this.closed) return;
    this.connection.resetStream(this, code);
  }
}

/**
 * A header block arriving in CONTINUATION frames, copied into one buffer grown by doubling:
 * keeping each fragment as a view would cost an object per frame and pin its read buffer.
 */
interface HeaderBlockInProgress {
  readonly streamId: number;
  readonly endStream: boolean;
  bytes: Buffer;
  length: number;
  /** Bytes of the frames so far, headers included, so that empty frames are not free. */
  size: number;
}

export class H2Connection {
  onClose: (() => void) | undefined;
  // Open streams by id. A Map allocates when entries come and go at request rate; this table
  // does not: ids are odd and rise, so (id >> 1) spreads them over the slots.
  private readonly streams = new StreamTable();
  private readonly decoder = new HpackDecoder();
  private readonly pings = new Map<number, (err: Error | null) => void>();
  private nextPing = 1;
  /** Fewer than 9 bytes of a frame (or of the preface) left over from the last read. */
  private input: Buffer | undefined;
  /** A frame whose header has arrived but not all of its payload, and how much of it has. */
  private partial: Buffer | undefined;
  private partialFill = 0;
  /** Streams the peer may still cancel before being answered (rapid-reset guard). */
  private resetAllowance = RESET_BURST;
  private resetCheckedAt = 0;
  private destroyTimer: NodeJS.Timeout | undefined;
  private prefaceSeen = false;
  private lastPeerStreamId = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private sendWindow = DEFAULT_WINDOW;
  private connectionUnacked = 0;
  private buffered = 0;
  /** DATA bytes held in stream queues for want of flow-control window. */
  private queuedBytes = 0;
  private writesAwaitingDrain = 0;
  private continuing: HeaderBlockInProgress | undefined;
  private goingAway = false;
  private peerGoingAway = false;
  private ended = false;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: H2ConnectionOptions,
  ) {
    const settings = settingsFrame([
      [Setting.MAX_CONCURRENT_STREAMS, options.maxConcurrentStreams],
      [Setting.INITIAL_WINDOW_SIZE, options.receiveWindow],
      [Setting.MAX_HEADER_LIST_SIZE, options.maxHeaderListBytes],
    ]);
    // The connection window starts at 65,535 whatever SETTINGS say (RFC 9113 §6.9.2).
    this.send(options.receiveWindow > DEFAULT_WINDOW ? Buffer.concat([settings, windowUpdateFrame(0, options.receiveWindow - DEFAULT_WINDOW)]) : settings);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err: Error) => options.onError(err));
    socket.on('close', () => this.closed());
    socket.on('drain', () => (this.writesAwaitingDrain = 0));
  }

  get destroyed(): boolean {
    return this.ended || this.socket.destroyed;
  }

  /** Sends a PING; `callback` runs with null on its ACK, or with an error if the connection ends first. */
  ping(callback: (err: Error | null) => void): boolean {
    if (this.destroyed) return false;
    const id = this.nextPing++ >>> 0;
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(id, 4);
    this.pings.set(id, callback);
    this.send(frame(FrameType.PING, 0, 0, payload));
    return true;
  }

  /** Graceful close: GOAWAY now, the socket ends once the open streams are done. */
  close(): void {
    if (this.destroyed || this.goingAway) return;
    this.goingAway = true;
    this.send(goawayFrame(this.lastPeerStreamId, ErrorCode.NO_ERROR));
    if (this.streams.size === 0) this.endSocket();
  }

  destroy(err?: Error): void {
    if (err !== undefined) this.options.onError(err);
    this.socket.destroy();
  }

  // ——— reading ———

  private receive(chunk: Buffer): void {
    if (this.ended) return;
    try {
      let buf = chunk;
      let offset = 0;
      const partial = this.partial;
      if (partial !== undefined) {
        // A frame that arrives over several reads is copied once into its own buffer.
        const take = Math.min(partial.length - this.partialFill, chunk.length);
        chunk.copy(partial, this.partialFill, 0, take);
        this.partialFill += take;
        if (this.partialFill < partial.length) return;
        this.partial = undefined;
        this.readFrames(partial, 0);
        if (this.ended) return;
        offset = take;
      } else if (this.input !== undefined) {
        buf = Buffer.concat([this.input, chunk]);
        this.input = undefined;
      }
      if (!this.prefaceSeen) {
        const have = Math.min(buf.length, CLIENT_PREFACE.length);
        if (!buf.subarray(0, have).equals(CLIENT_PREFACE.subarray(0, have))) {
          // Not HTTP/2 (an HTTP/1.1 request, a scanner): nothing to answer in this protocol.
          this.destroy(new Error('peer did not send the HTTP/2 client preface'));
          return;
        }
        if (have < CLIENT_PREFACE.length) {
          this.input = buf;
          return;
        }
        this.prefaceSeen = true;
        offset = CLIENT_PREFACE.length;
      }
      offset = this.readFrames(buf, offset);
      if (this.ended) return;
      const rest = buf.length - offset;
      if (rest >= FRAME_HEADER_BYTES) {
        // readFrames has checked this length against SETTINGS_MAX_FRAME_SIZE.
        this.partial = Buffer.allocUnsafe(FRAME_HEADER_BYTES + frameLength(buf, offset));
        this.partialFill = buf.copy(this.partial, 0, offset);
      } else if (rest > 0) {
        this.input = Buffer.from(buf.subarray(offset));
      }
    } catch (err) {
      if (err instanceof H2ProtocolError) this.fail(err.code, err.message);
      else {
        // A fault in a stream handler: end this connection, keep the process serving others.
        this.report(err);
        this.fail(ErrorCode.INTERNAL_ERROR, 'internal error');
      }
      return;
    }
    if (this.connectionUnacked >= this.options.receiveWindow / 4) {
      this.send(windowUpdateFrame(0, this.connectionUnacked));
      this.connectionUnacked = 0;
    }
  }

  /** Handles every whole frame in `buf` from `offset`; returns where the first incomplete one starts. */
  private readFrames(buf: Buffer, offset: number): number {
    while (buf.length - offset >= FRAME_HEADER_BYTES) {
      const length = frameLength(buf, offset);
      if (length > DEFAULT_MAX_FRAME_SIZE) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes is larger than SETTINGS_MAX_FRAME_SIZE`);
      if (buf.length - offset < FRAME_HEADER_BYTES + length) break;
      const type = buf[offset + 3]!;
      const flags = buf[offset + 4]!;
      const streamId = buf.readUInt32BE(offset + 5) & 0x7fffffff;
      const payload = buf.subarray(offset + FRAME_HEADER_BYTES, offset + FRAME_HEADER_BYTES + length);
      offset += FRAME_HEADER_BYTES + length;
      this.onFrame(type, flags, streamId, payload);
      if (this.ended) break;
    }
    return offset;
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (this.continuing !== undefined && (type !== FrameType.CONTINUATION || streamId !== this.continuing.streamId)) {
      throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION of the header block');
    }
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.onHeadersFrame(flags, streamId, payload);
        return;
      case FrameType.CONTINUATION:
        this.onContinuation(flags, streamId, payload);
        return;
      case FrameType.PRIORITY:
        if (streamId === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY payload is not 5 bytes');
        return;
      case FrameType.RST_STREAM:
        this.onRstStream(streamId, payload);
        return;
      case FrameType.SETTINGS:
        this.onSettings(flags, streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'a client must not send PUSH_PROMISE');
      case FrameType.PING:
        this.onPing(flags, streamId, payload);
        return;
      case FrameType.GOAWAY:
        if (streamId !== 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        this.peerGoingAway = true;
        if (this.streams.size === 0) this.endSocket();
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload);
        return;
      default:
      // Unknown frame types are ignored (RFC 9113 §4.1).
    }
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    // Padding counts against flow control too; every byte read is returned to the window.
    this.connectionUnacked += payload.length;
    let data = payload;
    if ((flags & Flag.PADDED) !== 0) {
      const pad = payload.length > 0 ? payload[0]! : 0;
      if (payload.length === 0 || pad >= payload.length) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'DATA padding longer than the frame');
      data = payload.subarray(1, payload.length - pad);
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastPeerStreamId) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${streamId}`);
      return; // a stream we have closed or reset: late frames are dropped
    }
    if (stream.remoteEnded) {
      this.resetStream(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (data.length > 0) {
      const shared = this.options.sharedBuffer;
      const over =
        this.buffered + data.length > this.options.maxBufferedBytes
          ? `the connection's streams would hold more than ${this.options.maxBufferedBytes} request bytes`
          : shared !== undefined && shared.used + data.length > shared.max
            ? `all connections' streams would hold more than ${shared.max} request bytes`
            : undefined;
      if (over !== undefined) {
        this.options.onError(new Error(`stream ${streamId} refused: ${over}`));
        this.resetStream(stream, ErrorCode.ENHANCE_YOUR_CALM);
        return;
      }
      stream.held += data.length;
      this.buffered += data.length;
      if (shared !== undefined) shared.used += data.length;
      stream.onData?.(data);
    }
    if ((flags & Flag.END_STREAM) !== 0) {
      stream.remoteEnded = true;
      stream.onEnd?.();
      if (stream.localEnded) this.closeStream(stream);
      return;
    }
    stream.unacked += payload.length;
    if (!stream.closed && stream.unacked >= this.options.receiveWindow / 4) {
      this.send(windowUpdateFrame(streamId, stream.unacked));
      stream.unacked = 0;
    }
  }

  private onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${streamId}`);
    let start = 0;
    let end = payload.length;
    if ((flags & Flag.PADDED) !== 0) {
      if (payload.length === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding longer than the frame');
      start = 1;
      end -= payload[0]!;
    }
    if ((flags & Flag.PRIORITY) !== 0) start += 5;
    if (end < start) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding longer than the frame');
    const block = payload.subarray(start, end);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) !== 0) {
      this.onHeaderBlock(streamId, block, endStream);
      return;
    }
    const bytes = Buffer.allocUnsafe(Math.max(4096, 2 * block.length));
    block.copy(bytes);
    this.continuing = { streamId, endStream, bytes, length: block.length, size: FRAME_HEADER_BYTES + payload.length };
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const block = this.continuing;
    if (block === undefined || block.streamId !== streamId) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without HEADERS');
    block.size += FRAME_HEADER_BYTES + payload.length;
    if (block.size > MAX_HEADER_BLOCK_BYTES) throw new H2ProtocolError(ErrorCode.ENHANCE_YOUR_CALM, `header block larger than ${MAX_HEADER_BLOCK_BYTES} bytes`);
    const length = block.length + payload.length;
    if (length > block.bytes.length) {
      const grown = Buffer.allocUnsafe(Math.min(MAX_HEADER_BLOCK_BYTES, Math.max(length, 2 * block.bytes.length)));
      block.bytes.copy(grown, 0, 0, block.length);
      block.bytes = grown;
    }
    payload.copy(block.bytes, block.length);
    block.length = length;
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.continuing = undefined;
    this.onHeaderBlock(streamId, block.bytes.subarray(0, block.length), block.endStream);
  }

  private onHeaderBlock(streamId: number, block: Buffer, endStream: boolean): void {
    // Every block is decoded, even one we refuse, to keep the HPACK table in step with the peer.
    let fields: HeaderField[] | undefined;
    try {
      fields = this.decoder.decode(block, this.options.maxHeaderListBytes);
    } catch (err) {
      if (err instanceof HpackError) throw new H2ProtocolError(ErrorCode.COMPRESSION_ERROR, `header block: ${err.message}`);
      if (!(err instanceof HeaderListTooLarge)) throw err;
    }
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Request trailers: allowed only as the end of the request.
      if (!endStream || existing.remoteEnded) {
        this.resetStream(existing, ErrorCode.PROTOCOL_ERROR);
        return;
      }
      existing.remoteEnded = true;
      existing.onEnd?.();
      if (existing.localEnded) this.closeStream(existing);
      return;
    }
    if (streamId <= this.lastPeerStreamId) return; // late headers for a stream already closed
    this.lastPeerStreamId = streamId;
    if (this.goingAway || this.peerGoingAway) {
      this.send(rstStreamFrame(streamId, ErrorCode.REFUSED_STREAM));
      return;
    }
    if (this.streams.size >= this.options.maxConcurrentStreams) {
      this.send(rstStreamFrame(streamId, ErrorCode.REFUSED_STREAM));
      return;
    }
    if (fields === undefined) {
      // Larger than SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §8.2.2 suggests 431).
      this.send(Buffer.concat([headersFrames(streamId, STATUS_431, true, this.peerMaxFrameSize), ...(endStream ? [] : [rstStreamFrame(streamId, ErrorCode.NO_ERROR)])]));
      return;
    }
    if (!validRequest(fields)) {
      this.send(rstStreamFrame(streamId, ErrorCode.PROTOCOL_ERROR));
      return;
    }
    const stream = new H2Stream(streamId, this, fields, this.peerInitialWindow);
    stream.remoteEnded = endStream;
    this.streams.set(streamId, stream);
    this.options.onStream(stream);
    if (endStream && !stream.closed) stream.onEnd?.();
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM payload is not 4 bytes');
    if (streamId > this.lastPeerStreamId) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
    const stream = this.streams.get(streamId);
    if (stream === undefined) return;
    if (!stream.localEnded) this.countCancel();
    this.closeStream(stream);
  }

  /**
   * A peer that opens streams and cancels them before they are answered (HEADERS then
   * RST_STREAM, CVE-2023-44487 "rapid reset") starts work on each while the concurrent-stream
   * limit never binds. Cancels are allowed in a burst of RESET_BURST, refilled at
   * RESETS_PER_SECOND; past that the connection ends. Envoy cancels a check only when its
   * ext_authz timeout passes, far below this rate.
   */
  private countCancel(): void {
    const now = performance.now();
    this.resetAllowance = Math.min(RESET_BURST, this.resetAllowance + ((now - this.resetCheckedAt) / 1000) * RESETS_PER_SECOND);
    this.resetCheckedAt = now;
    this.resetAllowance -= 1;
    if (this.resetAllowance < 0) throw new H2ProtocolError(ErrorCode.ENHANCE_YOUR_CALM, 'too many streams cancelled by the peer before they were answered');
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    if (payload.length % 6 !== 0) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS payload is not a multiple of 6 bytes');
    for (let i = 0; i < payload.length; i += 6) {
      const id = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (id === Setting.ENABLE_PUSH && value > 1) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_ENABLE_PUSH must be 0 or 1');
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.list()) {
          stream.sendWindow += delta;
          // RFC 9113 §6.9.2: a change that takes any window past 2^31-1 is a connection error.
          if (stream.sendWindow > MAX_WINDOW) throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, `SETTINGS_INITIAL_WINDOW_SIZE takes stream ${stream.id}'s window above 2^31-1`);
        }
      }
      if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_FRAME_SIZE_LIMIT) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS_MAX_FRAME_SIZE out of range');
        this.peerMaxFrameSize = value;
      }
      // HEADER_TABLE_SIZE: our encoder never uses the dynamic table. Others do not apply to a server.
    }
    this.send(frame(FrameType.SETTINGS, Flag.ACK, 0));
    this.flushAll();
  }

  private onPing(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'PING payload is not 8 bytes');
    if ((flags & Flag.ACK) === 0) {
      this.send(frame(FrameType.PING, Flag.ACK, 0, payload));
      return;
    }
    const id = payload.readUInt32BE(4);
    const callback = this.pings.get(id);
    if (callback === undefined) return;
    this.pings.delete(id);
    callback(null);
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ProtocolError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE payload is not 4 bytes');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new H2ProtocolError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window above 2^31-1');
      this.flushAll();
      return;
    }
    const stream = this.streams.get(streamId);
    if (stream === undefined) {
      if (streamId > this.lastPeerStreamId) throw new H2ProtocolError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${streamId}`);
      return;
    }
    if (increment === 0) {
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW) {
      this.resetStream(stream, ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    this.flush(stream);
  }

  // ——— writing (called by H2Stream) ———

  /** @internal */
  writeHeaders(stream: H2Stream, block: Buffer, endStream: boolean): void {
    this.send(headersFrames(stream.id, block, endStream, this.peerMaxFrameSize));
  }

  /** @internal */
  writeData(stream: H2Stream, data: Buffer): void {
    if (stream.queue === undefined && data.length <= this.peerMaxFrameSize && data.length <= stream.sendWindow && data.length <= this.sendWindow) {
      stream.sendWindow -= data.length;
      this.sendWindow -= data.length;
      this.send(frame(FrameType.DATA, 0, stream.id, data));
      return;
    }
    if (this.destroyed) return; // nothing more will be sent: keep nothing
    (stream.queue ??= []).push(data);
    this.queuedBytes += data.length;
    this.flush(stream);
    this.checkUnread();
  }

  /** @internal Headers, DATA and trailers in one write; false (nothing sent) when flow control does not allow it now. */
  writeUnary(stream: H2Stream, headers: Buffer, data: Buffer, trailers: Buffer): boolean {
    if (data.length > this.peerMaxFrameSize || data.length > stream.sendWindow || data.length > this.sendWindow) return false;
    if (headers.length > this.peerMaxFrameSize || trailers.length > this.peerMaxFrameSize) return false;
    stream.sendWindow -= data.length;
    this.sendWindow -= data.length;
    const out = Buffer.allocUnsafe(3 * FRAME_HEADER_BYTES + headers.length + data.length + trailers.length);
    let at = 0;
    writeFrameHeader(out, at, headers.length, FrameType.HEADERS, Flag.END_HEADERS, stream.id);
    at += FRAME_HEADER_BYTES + headers.copy(out, at + FRAME_HEADER_BYTES);
    writeFrameHeader(out, at, data.length, FrameType.DATA, 0, stream.id);
    at += FRAME_HEADER_BYTES + data.copy(out, at + FRAME_HEADER_BYTES);
    writeFrameHeader(out, at, trailers.length, FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, stream.id);
    trailers.copy(out, at + FRAME_HEADER_BYTES);
    this.send(out);
    return true;
  }

  /** @internal The response has ended (END_STREAM sent). */
  localEnd(stream: H2Stream): void {
    stream.localEnded = true;
    // Answered before the request ended (an early refusal): ask the peer to stop sending
    // (RFC 9113 §8.1) and drop what still arrives.
    if (stream.remoteEnded) this.closeStream(stream);
    else this.resetStream(stream, ErrorCode.NO_ERROR);
  }

  /** @internal */
  resetStream(stream: H2Stream, code: number): void {
    this.send(rstStreamFrame(stream.id, code));
    this.closeStream(stream);
  }

  private flushAll(): void {
    for (const stream of this.streams.list()) if (stream.queue !== undefined) this.flush(stream);
  }

  /** Sends queued DATA as far as the windows allow, then queued trailers. */
  private flush(stream: H2Stream): void {
    const queue = stream.queue;
    if (queue === undefined || stream.closed) return;
    while (queue.length > 0) {
      const head = queue[0]!;
      const room = Math.min(stream.sendWindow, this.sendWindow, this.peerMaxFrameSize);
      if (room <= 0 && head.length > 0) return;
      const chunk = head.length <= room ? head : head.subarray(0, room);
      if (chunk.length === head.length) queue.shift();
      else queue[0] = head.subarray(room);
      stream.sendWindow -= chunk.length;
      this.sendWindow -= chunk.length;
      this.queuedBytes -= chunk.length;
      this.send(frame(FrameType.DATA, 0, stream.id, chunk));
    }
    stream.queue = undefined;
    const trailers = stream.queuedTrailers;
    if (trailers !== undefined) {
      stream.queuedTrailers = undefined;
      this.writeHeaders(stream, trailers, true);
      this.localEnd(stream);
    }
  }

  private closeStream(stream: H2Stream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.streams.delete(stream.id);
    this.buffered -= stream.held;
    if (this.options.sharedBuffer !== undefined) this.options.sharedBuffer.used -= stream.held;
    stream.held = 0;
    if (stream.queue !== undefined) {
      for (const data of stream.queue) this.queuedBytes -= data.length;
      stream.queue = undefined;
    }
    // Streams also close from socket events and timers, where a throw would be uncaught.
    try {
      stream.onClose?.();
    } catch (err) {
      this.report(err);
    }
    if ((this.goingAway || this.peerGoingAway) && this.streams.size === 0) this.endSocket();
  }

  private send(bytes: Buffer): void {
    if (this.ended || this.socket.destroyed) return;
    if (!this.socket.write(bytes) && ++this.writesAwaitingDrain > MAX_WRITES_AWAITING_DRAIN) {
      this.destroy(new Error(`peer left more than ${MAX_WRITES_AWAITING_DRAIN} writes of output unread`));
      return;
    }
    this.checkUnread();
  }

  private checkUnread(): void {
    if (this.socket.writableLength + this.queuedBytes > this.options.maxQueuedWriteBytes && !this.socket.destroyed) {
      this.destroy(new Error(`peer left more than ${this.options.maxQueuedWriteBytes} bytes of output unread`));
    }
  }

  private fail(code: number, message: string): void {
    this.options.onError(new H2ProtocolError(code, message));
    this.send(goawayFrame(this.lastPeerStreamId, code, message.slice(0, 200)));
    this.endSocket();
  }

  private endSocket(): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    // A peer that never closes its side must not hold the socket open.
    this.destroyTimer = setTimeout(() => this.socket.destroy(), 5_000);
    this.destroyTimer.unref();
  }

  /** The socket's 'close' event: a throw from a callback here would be an uncaught exception. */
  private closed(): void {
    this.ended = true;
    clearTimeout(this.destroyTimer);
    for (const stream of this.streams.list()) this.closeStream(stream);
    const gone = new Error('connection closed');
    const pings = [...this.pings.values()];
    this.pings.clear();
    for (const callback of pings) {
      try {
        callback(gone);
      } catch (err) {
        this.report(err);
      }
    }
    try {
      this.onClose?.();
    } catch (err) {
      this.report(err);
    }
  }

  private report(err: unknown): void {
    this.options.onError(err instanceof Error ? err : new Error(String(err)));
  }
}

/** A header block as HEADERS plus CONTINUATION frames no larger than `maxFrame`. */
function headersFrames(streamId: number, block: Buffer, endStream: boolean, maxFrame: number): Buffer {
  const endFlag = endStream ? Flag.END_STREAM : 0;
  if (block.length <= maxFrame) return frame(FrameType.HEADERS, Flag.END_HEADERS | endFlag, streamId, block);
  const frames: Buffer[] = [];
  for (let at = 0; at < block.length; at += maxFrame) {
    const last = at + maxFrame >= block.length;
    const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
    const flags = (last ? Flag.END_HEADERS : 0) | (at === 0 ? endFlag : 0);
    frames.push(frame(type, flags, streamId, block.subarray(at, at + maxFrame)));
  }
  return Buffer.concat(frames);
}

/**
 * False when a request's header fields are malformed (RFC 9113 §8.2–8.3): uppercase names,
 * pseudo-headers after regular ones, unknown or repeated pseudo-headers, connection-specific
 * fields, or a missing :method, :scheme or :path.
 */
function validRequest(fields: readonly HeaderField[]): boolean {
  let regularSeen = false;
  let pseudo = 0;
  for (const [name, value] of fields) {
    if (name.length === 0 || hasUppercase(name)) return false;
    if (name.charCodeAt(0) === 0x3a) {
      const bit = name === ':method' ? 1 : name === ':scheme' ? 2 : name === ':path' ? 4 : name === ':authority' ? 8 : 0;
      if (regularSeen || bit === 0 || (pseudo & bit) !== 0) return false;
      if (bit === 4 && value === '') return false;
      pseudo |= bit;
      continue;
    }
    regularSeen = true;
    if (name === 'connection' || name === 'keep-alive' || name === 'proxy-connection' || name === 'transfer-encoding' || name === 'upgrade') return false;
    if (name === 'te' && value !== 'trailers') return false;
  }
  return (pseudo & 7) === 7;
}

function hasUppercase(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}

/** Open streams by id in 512 chained slots; size is bounded by SETTINGS_MAX_CONCURRENT_STREAMS. */
class StreamTable {
  private readonly slots: Array<H2Stream | undefined> = new Array<H2Stream | undefined>(512).fill(undefined);
  size = 0;

  get(id: number): H2Stream | undefined {
    let s = this.slots[(id >>> 1) & 511];
    while (s !== undefined && s.id !== id) s = s.nextInSlot;
    return s;
  }

  set(id: number, stream: H2Stream): void {
    const slot = (id >>> 1) & 511;
    stream.nextInSlot = this.slots[slot];
    this.slots[slot] = stream;
    this.size++;
  }

  delete(id: number): void {
    const slot = (id >>> 1) & 511;
    let s = this.slots[slot];
    let previous: H2Stream | undefined;
    while (s !== undefined && s.id !== id) {
      previous = s;
      s = s.nextInSlot;
    }
    if (s === undefined) return;
    if (previous === undefined) this.slots[slot] = s.nextInSlot;
    else previous.nextInSlot = s.nextInSlot;
    s.nextInSlot = undefined;
    this.size--;
  }

  /** A snapshot of the open streams (safe to close them while iterating). */
  list(): H2Stream[] {
    const out: H2Stream[] = [];
    if (this.size === 0) return out;
    for (const head of this.slots) for (let s = head; s !== undefined; s = s.nextInSlot) out.push(s);
    return out;
  }
}
