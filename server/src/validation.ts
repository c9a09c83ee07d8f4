import { RequestError } from '@ncp-hub/protocol';
import type { z } from 'zod';

/**
 * Parses `value` with `schema`, or throws BAD_REQUEST naming `what` and the first problem
 * (its path and zod's message; never the value itself).
 */
export function parseOrBadRequest<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? `${issue.path.join('.')}: ` : '';
  throw new RequestError('BAD_REQUEST', `${what}: ${where}${issue?.message ?? 'invalid'}`);
}
