/** Plain JSON values for Envoy config documents (proto JSON / YAML). */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * A JSON-RPC 2.0 error body in the shape of the authz service's denials
 * (ARCHITECTURE.md "Contracts"). Envoy does not parse the body, so `id` is null.
 */
export function denialBody(code: number, message: string, stage: string, rule: string): JsonObject {
  return { jsonrpc: '2.0', id: null, error: { code, message, data: { stage, rule, source: 'envoy' } } };
}
