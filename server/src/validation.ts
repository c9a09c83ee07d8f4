import { RequestError } from '@ncp-hub/protocol';
import type { z } from 'zod';

/** What {@link parseOrBadRequest} parses with: a zod schema, or a value typed as one that gives a `T`. */
export interface PayloadParser<T> {
  safeParse(value: unknown): z.ZodSafeParseResult<T>;
}

/**
 * Parses `value` with `schema`, or throws BAD_REQUEST naming `what` and the first problem
 * (its path and zod's message; never the value itself).
 */
export function parseOrBadRequest<T>(schema: PayloadParser<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new RequestError('BAD_REQUEST', `${what}: ${where}${issue?.message ?? 'invalid'}`);
}
