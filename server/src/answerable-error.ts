import { type HubError, RequestError, toHubError } from '@ncp-hub/protocol';
import type { Logger } from './logger.js';

/**
 * How long a client is told to wait (`retryAfter`, ms) when Redis is out of memory: not a
 * condition that clears within a second (messages expire, an operator raises `maxmemory`).
 */
export const STORE_FULL_RETRY_AFTER_MS = 5_000;

/**
 * The error to answer with, for every answer the hub gives (socket acks, the handshake, HTTP):
 * a {@link HubError} as it is; Redis out of memory (`maxmemory` reached, which with
 * `noeviction` refuses every write with `OOM command not allowed`) is `BUSY` with a retry
 * hint, logged here as a warning; anything else is `INTERNAL` (the protocol's `toHubError`),
 * its cause logged here with `fields` and never sent.
 *
 * Redis refuses an out-of-memory write before it writes anything: a command, a transaction
 * (EXECABORT), and a script at its first write (its later writes are let through, so that a
 * script is never cut in two). What a request answered `BUSY` by its one store step (a
 * message, a receipt) did not store, so it is sent again as it was.
 *
 * @example
 * ```ts
 * respond({ ok: false, error: answerableError(error, logger, 'event handler failed', { event }).toBody() });
 * ```
 */
export function answerableError(
  error: unknown,
  logger: Logger,
  message: string,
  fields: Record<string, unknown> = {},
): HubError {
  const answer = toHubError(error);
  if (answer.code !== 'INTERNAL') return answer;
  const cause = answer === error ? error : answer.cause;
  if (isRedisOutOfMemory(cause)) {
    logger.warn({ ...fields, problem: (cause as Error).message }, `${message}: Redis is out of memory (maxmemory)`);
    return new RequestError('BUSY', 'the hub cannot store anything now: try again later', {
      retryAfter: STORE_FULL_RETRY_AFTER_MS,
      cause,
    });
  }
  logger.error({ err: cause, ...fields }, message);
  return answer;
}

/**
 * Whether `error` (or what it wraps, as `cause`) is Redis's refusal of a write for want of
 * memory: an ioredis `ReplyError` whose message starts with `OOM` (a command's or a script's),
 * or a transaction discarded (`EXECABORT`) for such a refusal among its commands.
 */
export function isRedisOutOfMemory(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (current.name === 'ReplyError') {
      if (current.message.startsWith('OOM ')) return true;
      const previous = (current as { previousErrors?: unknown }).previousErrors;
      if (current.message.startsWith('EXECABORT') && Array.isArray(previous)) {
        return previous.some((inner) => isRedisOutOfMemory(inner));
      }
    }
    current = current.cause;
  }
  return false;
}
