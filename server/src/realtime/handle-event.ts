import { type Ack, HubError } from '@ncp-hub/protocol';
import type { z } from 'zod';
import type { Logger } from '../logger.js';
import { parseOrBadRequest } from '../validation.js';

/**
 * Wraps a client event handler: validates the payload with its schema, requires an ack
 * callback, and turns every failure into `{ ok: false, error: { code, message } }`. A bad
 * payload never throws out of the socket, so the connection survives it.
 */
export function handleEvent<S extends z.ZodType, R extends object>(
  event: string,
  schema: S,
  handler: (payload: z.infer<S>) => Promise<R> | R,
  logger: Logger,
): (...args: unknown[]) => void {
  return (...args: unknown[]) => {
    const ack = args.at(-1);
    if (typeof ack !== 'function') {
      logger.debug({ event }, 'event without ack callback ignored');
      return;
    }
    const respond = ack as (response: Ack<R>) => void;
    const payload = args.length > 1 ? args[0] : {};
    Promise.resolve()
      .then(() => handler(parseOrBadRequest(schema, payload ?? {}, event)))
      .then(
        (result) => respond({ ok: true, ...result }),
        (error: unknown) => {
          if (error instanceof HubError) return respond({ ok: false, error: error.toBody() });
          logger.error({ err: error, event }, 'event handler failed');
          respond({ ok: false, error: { code: 'INTERNAL', message: 'internal error' } });
        },
      );
  };
}
