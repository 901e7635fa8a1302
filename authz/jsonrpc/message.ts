/**
 * JSON-RPC 2.0 structure of one message (https://www.jsonrpc.org/specification, sections 4
 * and 5) as MCP narrows it: ids are strings or integers (MCP `RequestId`), params are
 * objects, results are objects. A value that could be read as two kinds of message (method
 * and result together) is refused: parsers that disagree on the kind disagree on the effect.
 */
import type { JsonRpcMessage } from '../pipeline/context.js';
import { deny, ErrorCode, type Denial } from '../pipeline/verdict.js';

export type Classified = { readonly message: JsonRpcMessage; readonly denial?: undefined } | { readonly message?: undefined; readonly denial: Denial };

function invalid(rule: string, message: string, index: number | undefined): Classified {
  const where = index === undefined ? '' : ` (batch item ${index})`;
  return { denial: deny('protocol', rule, 'protocol', ErrorCode.InvalidRequest, `${message}${where}`) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** MCP RequestId: a string or an integer that JSON numbers carry exactly. */
export function isValidId(id: unknown): id is string | number {
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id));
}

/**
 * Classifies one decoded JSON value as a request, notification or response, or returns the
 * denial naming what is wrong. `index` is the position in a batch, for messages.
 */
export function classifyMessage(value: unknown, index?: number): Classified {
  if (!isObject(value)) return invalid('invalid-message', 'a JSON-RPC message must be an object', index);
  if (value.jsonrpc !== '2.0') return invalid('jsonrpc-version', 'jsonrpc must be exactly "2.0"', index);
  const hasMethod = Object.hasOwn(value, 'method');
  const hasResult = Object.hasOwn(value, 'result');
  const hasError = Object.hasOwn(value, 'error');
  const hasId = Object.hasOwn(value, 'id');

  if (hasMethod) {
    if (hasResult || hasError) return invalid('invalid-message', 'a message cannot carry both method and result/error', index);
    const method = value.method;
    if (typeof method !== 'string' || method === '') return invalid('invalid-method', 'method must be a non-empty string', index);
    // JSON-RPC allows params to be omitted; real clients also send `params: null` for
    // parameterless notifications, which means the same thing.
    const rawParams = value.params;
    let params: Readonly<Record<string, unknown>> | undefined;
    if (rawParams === undefined || rawParams === null) params = undefined;
    else if (isObject(rawParams)) params = rawParams;
    else return invalid('invalid-params', 'params must be an object (MCP uses named parameters)', index);
    if (!hasId) return { message: { kind: 'notification', id: null, method, params } };
    const id = value.id;
    if (!isValidId(id)) {
      return invalid('invalid-id', 'id must be a string or an integer (not null, fractional, boolean, object or beyond 2^53)', index);
    }
    return { message: { kind: 'request', id, method, params } };
  }

  if (hasResult || hasError) {
    if (hasResult && hasError) return invalid('invalid-response', 'a response carries either result or error, not both', index);
    // Client responses answer server requests, whose ids the client knows.
    if (!isValidId(value.id)) return invalid('invalid-response', 'a response must carry the string or integer id of the request it answers', index);
    if (hasResult && !isObject(value.result)) return invalid('invalid-response', 'result must be an object', index);
    if (hasError) {
      const error = value.error;
      if (!isObject(error) || !Number.isSafeInteger(error.code) || typeof error.message !== 'string') {
        return invalid('invalid-response', 'error must be an object with an integer code and a string message', index);
      }
    }
    return { message: { kind: 'response', id: value.id, method: undefined, params: undefined } };
  }

  return invalid('invalid-message', 'a JSON-RPC message needs a method (request/notification) or a result/error (response)', index);
}
