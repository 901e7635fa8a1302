/**
 * grpc.health.v1.Health (grpc/grpc doc health-checking.md) for the gRPC server in
 * grpc-server.ts: `Check` answers the status of a service name ('' is the whole server) or
 * NOT_FOUND for a name never registered; `Watch` streams the status now and on every change,
 * SERVICE_UNKNOWN for a name not (yet) registered.
 */
import { GrpcError, GrpcStatus, type GrpcMethod } from './grpc-server.js';
import { methodOf, type LoadedProtos } from './proto.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';
type WatchStatus = ServingStatus | 'SERVICE_UNKNOWN';

interface HealthRequest {
  readonly service?: string;
}
interface HealthResponse {
  readonly status: WatchStatus;
}

export interface HealthService {
  /** Path → method entries to register on the server. */
  readonly methods: ReadonlyMap<string, GrpcMethod>;
  setStatus(service: string, status: ServingStatus): void;
}

export function createHealthService(protos: LoadedProtos): HealthService {
  const statuses = new Map<string, ServingStatus>();
  const watchers = new Map<string, Set<(status: WatchStatus) => void>>();
  const check = methodOf(protos.healthService, 'Check');
  const watch = methodOf(protos.healthService, 'Watch');

  const codec = {
    decode: (message: Buffer) => check.requestDeserialize(message) as HealthRequest,
    encode: (response: HealthResponse) => check.responseSerialize(response),
  };
  const methods = new Map<string, GrpcMethod>([
    [
      check.path,
      {
        kind: 'unary',
        ...codec,
        handle: (request: HealthRequest): HealthResponse => {
          const status = statuses.get(request.service ?? '');
          if (status === undefined) throw new GrpcError(GrpcStatus.NOT_FOUND, `unknown service ${JSON.stringify(request.service ?? '')}`);
          return { status };
        },
      },
    ],
    [
      watch.path,
      {
        kind: 'server-stream',
        ...codec,
        handle: (request: HealthRequest, writer) => {
          const service = request.service ?? '';
          const listener = (status: WatchStatus): void => writer.write({ status });
          let set = watchers.get(service);
          if (set === undefined) watchers.set(service, (set = new Set()));
          set.add(listener);
          // Any client may watch any name: keep an entry only while someone watches it.
          writer.onClose(() => {
            set.delete(listener);
            if (set.size === 0) watchers.delete(service);
          });
          listener(statuses.get(service) ?? 'SERVICE_UNKNOWN');
        },
      },
    ],
  ]);

  return {
    methods,
    setStatus: (service, status) => {
      if (statuses.get(service) === status) return;
      statuses.set(service, status);
      for (const listener of watchers.get(service) ?? []) listener(status);
    },
  };
}
