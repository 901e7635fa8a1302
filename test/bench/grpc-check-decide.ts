/**
 * Stand-in engine for the grpc-check benchmark: parses the body as JSON (the one cost every
 * real check has) and allows. Swap in the real engine with --decide-module or runGrpcCheckBench.
 */
import type { WardenRequest } from '../../authz/pipeline/request.js';
import type { Verdict } from '../../authz/pipeline/verdict.js';

const decoder = new TextDecoder();

export function decide(request: WardenRequest): Verdict {
  const text = typeof request.body === 'string' ? request.body : decoder.decode(request.body);
  const message = JSON.parse(text) as { id?: string | number; method?: string; params?: { name?: string } };
  return {
    allowed: true,
    denial: undefined,
    audited: [],
    warnings: [],
    jsonRpcId: message.id ?? null,
    serverKey: request.serverKey,
    policyKey: undefined,
    tool: message.params?.name,
    method: message.method,
    sessionId: request.headers['mcp-session-id'],
  };
}
