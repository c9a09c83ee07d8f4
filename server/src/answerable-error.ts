import { type HubError, toHubError } from '@ncp-hub/protocol';
import type { Logger } from './logger.js';

/**
 * The error to answer with, for every answer the hub gives (socket acks, the handshake, HTTP):
 * a {@link HubError} as it is; anything else is `INTERNAL` (the protocol's `toHubError`), its
 * cause logged here with `fields` and never sent.
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
  if (answer.code === 'INTERNAL') logger.error({ err: answer === error ? error : answer.cause, ...fields }, message);
  return answer;
}
