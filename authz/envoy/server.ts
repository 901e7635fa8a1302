/**
 * The ext_authz gRPC edge: envoy.service.auth.v3.Authorization/Check and grpc.health.v1.
 * It only adapts — CheckRequest → WardenRequest → decide → Verdict → CheckResponse — and
 * reports the verdict (security event, metrics). Every fault in judging is answered with a
 * deny CheckResponse, never a gRPC error: with failure_mode_allow set, Envoy would let a
 * request through on an error, so the service must not produce one (fail closed).
 */
import type { Logger } from 'pino';
import type { WardenRequest } from '../pipeline/request.js';
import type { Verdict } from '../pipeline/verdict.js';
import { securityEvent } from '../telemetry/events.js';
import { parseListenAddress } from '../telemetry/listen-address.js';
import type { WardenMetrics } from '../telemetry/metrics.js';
import { toWardenRequest, type CheckRequest } from './check-request.js';
import { toCheckResponse, type CheckResponse } from './check-response.js';
import { createGrpcServer, type GrpcMethod } from './grpc-server.js';
import { createHealthService } from './health.js';
import { internalErrorVerdict } from './internal-error.js';
import { AUTHORIZATION_SERVICE_NAME, loadProtos, methodOf } from './proto.js';

export type Decide = (request: WardenRequest) => Verdict | Promise<Verdict>;

/** Envoy's own body buffer limit defaults to our 16 MiB ceiling; headers and framing need room too. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;
const MESSAGE_HEADROOM_BYTES = 1024 * 1024;

export interface AuthzServerOptions {
  /** `host:port`; port 0 picks a free port (see AuthzServer.port). */
  readonly listen: string;
  readonly decide: Decide;
  readonly logger: Pick<Logger, 'warn' | 'info' | 'error'>;
  readonly metrics?: WardenMetrics;
  /** Milliseconds since the epoch; injected so tests control time. */
  readonly clock?: () => number;
  /** Largest body Envoy may forward; the gRPC receive limit is this plus headroom. */
  readonly maxBodyBytes?: number;
  /** jwt_authn `payload_in_metadata` key (default `jwt_payload`). */
  readonly jwtPayloadKey?: string;
  /** Health at start: true (SERVING) unless the caller has no configuration yet. */
  readonly serving?: boolean;
  /**
   * Deny (internal-error) when decide has not answered within this many milliseconds, so a
   * stuck store yields our JSON-RPC denial rather than Envoy's bare timeout 403. Keep it
   * below the ext_authz filter's `timeout`. Default: no limit of our own.
   */
  readonly decideTimeoutMs?: number;
  /** Server keepalive pings, so dead Envoy connections are noticed. */
  readonly keepaliveTimeMs?: number;
  readonly keepaliveTimeoutMs?: number;
}

function withDeadline(result: Verdict | Promise<Verdict>, timeoutMs: number | undefined): Verdict | Promise<Verdict> {
  if (timeoutMs === undefined || !(result instanceof Promise)) return result;
  return new Promise<Verdict>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`decide did not answer within ${timeoutMs} ms`)), timeoutMs);
    result.then(
      (verdict) => {
        clearTimeout(timer);
        resolve(verdict);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

export interface AuthzServer {
  readonly port: number;
  /** SERVING / NOT_SERVING for grpc.health.v1 (overall and for the Authorization service). */
  setServing(serving: boolean): void;
  /** Stops accepting calls, lets running ones finish for up to graceMs, then cuts them. */
  close(graceMs?: number): Promise<void>;
}

export async function startAuthzServer(options: AuthzServerOptions): Promise<AuthzServer> {
  const protos = loadProtos();
  const clock = options.clock ?? Date.now;
  const { decide, logger, metrics } = options;
  const requestOptions = options.jwtPayloadKey === undefined ? undefined : { jwtPayloadKey: options.jwtPayloadKey };

  const judge = async (check: CheckRequest): Promise<{ request: WardenRequest | undefined; verdict: Verdict }> => {
    let request: WardenRequest | undefined;
    try {
      request = toWardenRequest(check, clock(), requestOptions);
      const verdict = await withDeadline(decide(request), options.decideTimeoutMs);
      if (typeof verdict !== 'object' || verdict === null || typeof verdict.allowed !== 'boolean') {
        throw new TypeError('decide returned something that is not a Verdict');
      }
      return { request, verdict };
    } catch (err) {
      logger.error({ err, requestId: request?.requestId }, 'check failed; denying (fail closed)');
      return { request, verdict: internalErrorVerdict(request) };
    }
  };

  const report = (verdict: Verdict, request: WardenRequest | undefined, seconds: number): void => {
    try {
      metrics?.observeCheck(verdict, seconds);
      if (request !== undefined) securityEvent(logger, verdict, request);
    } catch (err) {
      logger.error({ err }, 'reporting a verdict failed');
    }
  };

  const answer = async (check: CheckRequest): Promise<CheckResponse> => {
    const started = performance.now();
    const judged = await judge(check);
    const { request } = judged;
    let { verdict } = judged;
    let response: CheckResponse;
    try {
      response = toCheckResponse(verdict);
    } catch (err) {
      logger.error({ err, requestId: request?.requestId }, 'building the CheckResponse failed; denying');
      verdict = internalErrorVerdict(request);
      response = toCheckResponse(verdict);
    }
    // Reporting (a few metric updates; a log line only for non-allow verdicts) runs before the
    // answer is written; it costs a few microseconds of the check.
    report(verdict, request, (performance.now() - started) / 1000);
    return response;
  };

  const checkMethod = methodOf(protos.authorizationService, 'Check');
  const health = createHealthService(protos);
  const methods = new Map<string, GrpcMethod>([
    [
      checkMethod.path,
      {
        kind: 'unary',
        decode: (message: Buffer) => checkMethod.requestDeserialize(message) as CheckRequest,
        encode: (response: CheckResponse) => checkMethod.responseSerialize(response),
        handle: answer,
      },
    ],
    ...health.methods,
  ]);
  const server = createGrpcServer({
    methods,
    maxReceiveMessageBytes: (options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES) + MESSAGE_HEADROOM_BYTES,
    keepaliveTimeMs: options.keepaliveTimeMs ?? 30_000,
    keepaliveTimeoutMs: options.keepaliveTimeoutMs ?? 10_000,
    onError: (err, context) => logger.warn({ err }, `gRPC ${context} error`),
  });
  const setServing = (serving: boolean): void => {
    const status = serving ? 'SERVING' : 'NOT_SERVING';
    health.setStatus('', status);
    health.setStatus(AUTHORIZATION_SERVICE_NAME, status);
  };
  setServing(options.serving ?? true);

  const { host, port: wantedPort } = parseListenAddress(options.listen);
  let port: number;
  try {
    port = await server.listen(host, wantedPort);
  } catch (err) {
    throw new Error(`--listen ${options.listen}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }

  return {
    port,
    setServing,
    close: (graceMs = 5_000) => {
      setServing(false);
      return server.close(graceMs);
    },
  };
}
