/**
 * google.protobuf.Struct (as decoded by proto-loader) → plain JSON. Envoy carries verified
 * JWT payloads and route metadata in this form. protobufjs decodes the well-known types
 * with camelCase field names (`structValue`); snake_case (`struct_value`) is accepted too
 * so the decoder does not depend on how the proto was loaded.
 */

export interface ProtoStruct {
  fields?: Record<string, ProtoValue | null | undefined> | null;
}

export interface ProtoListValue {
  values?: Array<ProtoValue | null | undefined> | null;
}

export interface ProtoValue {
  kind?: string | null;
  nullValue?: unknown;
  numberValue?: number | null;
  stringValue?: string | null;
  boolValue?: boolean | null;
  structValue?: ProtoStruct | null;
  listValue?: ProtoListValue | null;
  null_value?: unknown;
  number_value?: number | null;
  string_value?: string | null;
  bool_value?: boolean | null;
  struct_value?: ProtoStruct | null;
  list_value?: ProtoListValue | null;
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Metadata is produced by Envoy, not the client, but a bound keeps a bug from recursing forever. */
const MAX_DEPTH = 64;

export function structToJson(struct: ProtoStruct, depth = 0): Record<string, Json> {
  const out: Record<string, Json> = {};
  const fields = struct.fields;
  if (fields === null || fields === undefined || depth > MAX_DEPTH) return out;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    setOwn(out, key, value === null || value === undefined ? null : valueToJson(value, depth + 1));
  }
  return out;
}

export function valueToJson(value: ProtoValue, depth = 0): Json {
  if (depth > MAX_DEPTH) return null;
  switch (value.kind ?? kindOf(value)) {
    case 'numberValue':
    case 'number_value':
      return value.numberValue ?? value.number_value ?? 0;
    case 'stringValue':
    case 'string_value':
      return value.stringValue ?? value.string_value ?? '';
    case 'boolValue':
    case 'bool_value':
      return value.boolValue ?? value.bool_value ?? false;
    case 'structValue':
    case 'struct_value': {
      const s = value.structValue ?? value.struct_value;
      return s === null || s === undefined ? {} : structToJson(s, depth + 1);
    }
    case 'listValue':
    case 'list_value': {
      const values = (value.listValue ?? value.list_value)?.values ?? [];
      return values.map((v) => (v === null || v === undefined ? null : valueToJson(v, depth + 1)));
    }
    default:
      return null;
  }
}

/** For Values built without the oneof marker (hand-made objects, other loaders). */
function kindOf(value: ProtoValue): string | undefined {
  for (const key of ['structValue', 'struct_value', 'listValue', 'list_value', 'stringValue', 'string_value', 'numberValue', 'number_value', 'boolValue', 'bool_value'] as const) {
    if (value[key] !== undefined && value[key] !== null) return key;
  }
  return undefined;
}

/** `__proto__` from a claim name must become an own property, not the prototype. */
function setOwn(target: Record<string, Json>, key: string, value: Json): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    target[key] = value;
  }
}
