import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/**
 * Errors as logged: a Redis client error carries the failed command and its arguments
 * (envelopes, statements, audit events), which must never reach a log.
 */
function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (serialized && typeof serialized === 'object') {
    delete serialized.command;
    delete serialized.args;
    delete serialized.previousErrors;
  }
  return serialized;
}

/**
 * The hub's JSON logger. Tokens, authorization headers and Redis URLs are redacted wherever
 * they would appear; message content never reaches a log call in the first place.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'hubId'>): Logger {
  return pino({
    level: config.logLevel,
    serializers: { err: serializeError },
    base: { hub: config.hubId },
    redact: {
      paths: [
        'token',
        '*.token',
        'auth.token',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'redisUrl',
        'redisSentinelPassword',
      ],
      censor: '[redacted]',
    },
  });
}
