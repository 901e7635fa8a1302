/**
 * The service logger. pino's own redaction is a second line of defence: should any code
 * path ever log a request's headers, credentials are censored rather than written out.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const CENSORED_HEADER_PATHS: readonly string[] = [
  'headers.authorization',
  'headers.cookie',
  'headers["proxy-authorization"]',
  'headers["set-cookie"]',
  '*.headers.authorization',
  '*.headers.cookie',
  '*.headers["proxy-authorization"]',
  '*.headers["set-cookie"]',
];

export interface LoggerOptions {
  readonly level?: string;
  readonly name?: string;
  /** Defaults to stdout. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const config = {
    name: options.name ?? 'mcp-warden-authz',
    level: options.level ?? 'info',
    redact: { paths: [...CENSORED_HEADER_PATHS], censor: '[redacted]' },
  };
  return options.destination === undefined ? pino(config) : pino(config, options.destination);
}
