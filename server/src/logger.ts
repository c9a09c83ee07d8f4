import { type Logger, pino } from 'pino';
import type { Config } from './config.js';

export type { Logger } from 'pino';

/**
 * The hub's JSON logger. Tokens, authorization headers and Redis URLs are redacted wherever
 * they would appear; message content never reaches a log call in the first place.
 */
export function createLogger(config: Pick<Config, 'logLevel' | 'hubId'>): Logger {
  return pino({
    level: config.logLevel,
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
      ],
      censor: '[redacted]',
    },
  });
}
