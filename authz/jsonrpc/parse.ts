/**
 * Body parsing for stage 1: size limit first (O(1) for bytes), then strict UTF-8, then a
 * linear validating scan that enforces depth, width, unique keys and no `__proto__`
 * (see scan.ts), and only then JSON.parse. The body is parsed once per request with the
 * loosest limits of the server's policies; each policy's transport stage compares the
 * reported `maxDepthSeen` / `maxWidthSeen` / `byteLength` with its own limits.
 */
import type { ParsedBody } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';
import { scanJson, type ScanFailure } from './scan.js';

export interface ParseLimits {
  readonly maxBytes: number;
  readonly maxDepth: number;
  readonly maxWidth: number;
}

// fatal: invalid UTF-8 throws instead of becoming U+FFFD (which would let two parsers read
// different text). ignoreBOM: keep a BOM in the text so the scan rejects it like JSON.parse.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function bodyTooLarge(byteLength: number, maxBytes: number): Denial {
  return deny('transport', 'body-too-large', 'size', ErrorCode.PayloadTooLarge, `request body of ${byteLength} bytes exceeds the limit of ${maxBytes} bytes`, {
    data: { limit: maxBytes },
  });
}

export function jsonTooDeep(depth: number, maxDepth: number): Denial {
  return deny('transport', 'json-too-deep', 'size', ErrorCode.PayloadTooLarge, `JSON nesting depth ${depth} exceeds the limit of ${maxDepth}`, {
    data: { limit: maxDepth },
  });
}

export function jsonTooWide(width: number, maxWidth: number): Denial {
  return deny('transport', 'json-too-wide', 'size', ErrorCode.PayloadTooLarge, `a JSON object or array with ${width} members exceeds the limit of ${maxWidth}`, {
    data: { limit: maxWidth },
  });
}

function parseError(message: string): Denial {
  return deny('transport', 'parse-error', 'protocol', ErrorCode.ParseError, message);
}

function scanDenial(failure: ScanFailure, depth: number, width: number, limits: ParseLimits, offset: number, reason: string): Denial {
  switch (failure) {
    case 'json-too-deep':
      return jsonTooDeep(depth, limits.maxDepth);
    case 'json-too-wide':
      return jsonTooWide(width, limits.maxWidth);
    case 'json-duplicate-key':
      return deny('transport', 'json-duplicate-key', 'protocol', ErrorCode.InvalidRequest, `duplicate object key at offset ${offset}: ambiguous JSON is refused`, {
        data: { offset },
      });
    case 'json-proto-key':
      return deny('transport', 'json-proto-key', 'protocol', ErrorCode.InvalidRequest, `object key "__proto__" at offset ${offset} is refused`, {
        data: { offset },
      });
    case 'parse-error':
      return deny('transport', 'parse-error', 'protocol', ErrorCode.ParseError, `invalid JSON at offset ${offset}: ${reason}`, {
        data: { offset },
      });
  }
}

function failed(byteLength: number, depth: number, width: number, error: Denial): ParsedBody {
  return { value: undefined, byteLength, maxDepthSeen: depth, maxWidthSeen: width, error };
}

/**
 * Parses a request body under the given limits. Never throws. An empty body yields
 * `value: undefined` with no error (GET/DELETE; the protocol stage decides whether a POST
 * may be empty).
 */
export function parseBody(body: Uint8Array | string, limits: ParseLimits): ParsedBody {
  let text: string;
  let byteLength: number;
  if (typeof body === 'string') {
    // Every UTF-16 code unit encodes to at least one byte, so a string longer than the limit
    // is rejected without measuring it (its length is reported as a lower bound).
    if (body.length > limits.maxBytes) return failed(body.length, 0, 0, bodyTooLarge(body.length, limits.maxBytes));
    byteLength = Buffer.byteLength(body, 'utf8');
    if (byteLength > limits.maxBytes) return failed(byteLength, 0, 0, bodyTooLarge(byteLength, limits.maxBytes));
    // A lone surrogate has no UTF-8 encoding: the upstream would receive different text.
    if (!(body as string & { isWellFormed(): boolean }).isWellFormed()) {
      return failed(byteLength, 0, 0, deny('transport', 'invalid-utf8', 'protocol', ErrorCode.ParseError, 'request body is not well-formed Unicode'));
    }
    text = body;
  } else {
    byteLength = body.byteLength;
    if (byteLength > limits.maxBytes) return failed(byteLength, 0, 0, bodyTooLarge(byteLength, limits.maxBytes));
    try {
      text = utf8.decode(body);
    } catch {
      return failed(byteLength, 0, 0, deny('transport', 'invalid-utf8', 'protocol', ErrorCode.ParseError, 'request body is not valid UTF-8'));
    }
  }
  if (byteLength === 0) return { value: undefined, byteLength: 0, maxDepthSeen: 0, maxWidthSeen: 0, error: undefined };

  const scan = scanJson(text, limits.maxDepth, limits.maxWidth);
  if (scan.failure !== undefined) {
    return failed(byteLength, scan.maxDepth, scan.maxWidth, scanDenial(scan.failure, scan.maxDepth, scan.maxWidth, limits, scan.offset, scan.reason));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // Unreachable when the scan is right; kept so a scanner bug fails closed.
    return failed(byteLength, scan.maxDepth, scan.maxWidth, parseError(`invalid JSON: ${err instanceof Error ? err.message.slice(0, 120) : 'unknown'}`));
  }
  return { value, byteLength, maxDepthSeen: scan.maxDepth, maxWidthSeen: scan.maxWidth, error: undefined };
}
