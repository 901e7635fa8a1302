/**
 * The plain request value the decision engine judges. The Envoy adapter builds it from a
 * CheckRequest; tests build it directly. Nothing here knows about gRPC.
 */
export interface SourcePeer {
  /** Address of the direct peer (Envoy's source address). */
  readonly address: string;
  readonly port: number | undefined;
  /** Peer identity from the TLS client certificate (URI SAN or subject), when present. */
  readonly principal: string | undefined;
  /** URL-encoded PEM of the client certificate, when Envoy forwards it. */
  readonly certificate: string | undefined;
}

export interface WardenRequest {
  /** Envoy's x-request-id or a generated id; for logs only. */
  readonly requestId: string;
  readonly httpMethod: string;
  readonly path: string;
  /** Header names are lower-case (HTTP/2 and Envoy normalise them). */
  readonly headers: Readonly<Record<string, string>>;
  /** The buffered body: bytes (`raw_body`) or text (`body`). Empty when there is none. */
  readonly body: Uint8Array | string;
  /** Length the client declared (content-length), when known, checked before parsing. */
  readonly declaredLength: number | undefined;
  readonly source: SourcePeer;
  /** Verified JWT payload from Envoy's jwt_authn filter (dynamic metadata). */
  readonly claims: Readonly<Record<string, unknown>> | undefined;
  /** The ext_authz context extension `mcpwarden.io/server` (`namespace/name`). */
  readonly serverKey: string | undefined;
  /** Milliseconds since the epoch when the check started (injected clock). */
  readonly receivedAtMs: number;
}
