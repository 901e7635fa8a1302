/**
 * Loads the ext_authz and health protos once, from the npm packages that ship them (never
 * from copies in this repository): Envoy's API tree vendored by `@grpc/grpc-js-xds`
 * (`deps/envoy-api` plus its imports) and `grpc.health.v1` from `grpc-health-check`.
 *
 * Loader options, used for every message we read or write:
 * - keepCase: true — field names stay as in the .proto and Envoy's docs (`raw_body`,
 *   `context_extensions`, `denied_response`); the typed interfaces in check-request.ts and
 *   check-response.ts use the same snake_case names.
 * - bytes: Buffer, longs: Number (sizes and ports fit in 2^53), enums: String (e.g.
 *   HttpStatus `Forbidden`, Struct `NULL_VALUE`; numbers are accepted when writing),
 *   defaults: true (absent scalars read as '' / 0 / empty Buffer, absent messages as null),
 *   oneofs: true (a virtual field names the member that is set, e.g. Value.kind).
 * Caveat: protobufjs supplies google/protobuf/*.proto (Struct, Value, BoolValue, Timestamp)
 * from its built-in descriptors, whose field names are camelCase whatever keepCase says
 * (`structValue`, `nullValue`); the Struct decoder accepts both spellings.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';

const require = createRequire(import.meta.url);

export const LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: true,
  longs: Number,
  bytes: Buffer,
  enums: String,
  defaults: true,
  oneofs: true,
});

export const AUTHORIZATION_SERVICE_NAME = 'envoy.service.auth.v3.Authorization';
export const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

export interface LoadedProtos {
  /** Package definition holding envoy.service.auth.v3 and everything it imports. */
  readonly authPackage: PackageDefinition;
  readonly authorizationService: ServiceDefinition;
  /** Package definition holding grpc.health.v1 (health.ts serves it; clients use it too). */
  readonly healthPackage: PackageDefinition;
  readonly healthService: ServiceDefinition;
}

/** Folders of the pinned @grpc/grpc-js-xds package that hold Envoy's API and its imports. */
export function envoyIncludeDirs(): string[] {
  const xdsRoot = path.dirname(require.resolve('@grpc/grpc-js-xds/package.json'));
  return ['envoy-api', 'googleapis', 'xds', 'protoc-gen-validate'].map((d) => path.join(xdsRoot, 'deps', d));
}

function healthProtoPath(): string {
  const healthModule = require('grpc-health-check') as { protoPath: string };
  return healthModule.protoPath;
}

let loaded: LoadedProtos | undefined;

/** Parses the protos on first call (start-up) and returns the same definitions afterwards. */
export function loadProtos(): LoadedProtos {
  if (loaded !== undefined) return loaded;
  const authPackage = loadSync('envoy/service/auth/v3/external_auth.proto', {
    ...LOADER_OPTIONS,
    includeDirs: envoyIncludeDirs(),
  });
  const healthPackage = loadSync(healthProtoPath(), LOADER_OPTIONS);
  loaded = Object.freeze({
    authPackage,
    authorizationService: serviceOf(authPackage, AUTHORIZATION_SERVICE_NAME),
    healthPackage,
    healthService: serviceOf(healthPackage, HEALTH_SERVICE_NAME),
  });
  return loaded;
}

/** A method of a loaded service; the protos come from pinned packages, so a missing one is a start-up error. */
export function methodOf(service: ServiceDefinition, name: string): NonNullable<ServiceDefinition[string]> {
  const method = service[name];
  if (method === undefined) throw new Error(`proto load: method ${name} not found in the service definition`);
  return method;
}

function serviceOf(pkg: PackageDefinition, name: string): ServiceDefinition {
  const def = pkg[name];
  if (def === undefined || !('Check' in def)) {
    throw new Error(`proto load: service ${name} not found in the loaded package definition`);
  }
  return def as ServiceDefinition;
}
