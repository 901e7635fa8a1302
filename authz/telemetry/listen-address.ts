/** Parses the CLI's `HOST:PORT` listen addresses (`[::1]:9090` for IPv6). */

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

export function parseListenAddress(listen: string, flag = '--listen'): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen.trim());
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port > 65535) {
    throw new Error(`${flag} '${listen}' is not HOST:PORT (e.g. 0.0.0.0:9090, [::]:9090, 127.0.0.1:0)`);
  }
  const host = match[1] ?? match[2] ?? '';
  return { host: host === '' ? '0.0.0.0' : host, port };
}

/** `host:port` with IPv6 hosts bracketed, as gRPC and URLs want it. */
export function formatListenAddress(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
