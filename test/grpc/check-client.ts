/**
 * A real @grpc/grpc-js client for the ext_authz and health services, built from the same
 * proto definitions the server loads. Used by the integration tests and the benchmark.
 */
import * as grpc from '@grpc/grpc-js';
import { loadProtos } from '../../authz/envoy/proto.js';

/** The CheckResponse as a client (Envoy) decodes it, with the loader options of proto.ts. */
export interface DecodedHeaderValueOption {
  header: { key: string; value: string };
  append: { value: boolean } | null;
}
export interface DecodedCheckResponse {
  status: { code: number; message: string };
  http_response: 'ok_response' | 'denied_response';
  denied_response?: { status: { code: string }; headers: DecodedHeaderValueOption[]; body: string };
  ok_response?: { headers: DecodedHeaderValueOption[]; response_headers_to_add: DecodedHeaderValueOption[] };
}

type Unary<Req, Res> = (request: Req, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null, res?: Res) => void) => void;

interface AuthorizationStub extends grpc.Client {
  Check: Unary<object, DecodedCheckResponse>;
}
interface HealthStub extends grpc.Client {
  Check: Unary<{ service: string }, { status: string }>;
  Watch(request: { service: string }): grpc.ClientReadableStream<{ status: string }>;
}

export interface CheckClient {
  check(request: object, deadlineMs?: number): Promise<DecodedCheckResponse>;
  health(service?: string): Promise<string>;
  watchHealth(service?: string): grpc.ClientReadableStream<{ status: string }>;
  close(): void;
}

export function connectCheckClient(address: string): CheckClient {
  const protos = loadProtos();
  const Authorization = grpc.makeClientConstructor(protos.authorizationService, 'Authorization');
  const Health = grpc.makeClientConstructor(protos.healthService, 'Health');
  const credentials = grpc.credentials.createInsecure();
  const options = { 'grpc.max_send_message_length': 64 * 1024 * 1024 };
  const auth = new Authorization(address, credentials, options) as unknown as AuthorizationStub;
  const health = new Health(address, credentials) as unknown as HealthStub;
  return {
    check: (request, deadlineMs = 5_000) =>
      new Promise((resolve, reject) => {
        auth.Check(request, { deadline: Date.now() + deadlineMs }, (err, res) => {
          if (err !== null || res === undefined) reject(err ?? new Error('empty response'));
          else resolve(res);
        });
      }),
    health: (service = '') =>
      new Promise((resolve, reject) => {
        health.Check({ service }, { deadline: Date.now() + 5_000 }, (err, res) => {
          if (err !== null || res === undefined) reject(err ?? new Error('empty response'));
          else resolve(res.status);
        });
      }),
    watchHealth: (service = '') => health.Watch({ service }),
    close: () => {
      auth.close();
      health.close();
    },
  };
}
