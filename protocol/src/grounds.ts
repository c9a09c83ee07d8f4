import { z } from 'zod';
import { MAX_REFERENCE_LENGTH } from './limits.js';

/**
 * The three exceptional grounds on which an investigator may contact a foreign colleague
 * directly, before the formal letter of request:
 * - `THREAT_TO_LIFE`: a threat to the life or health of the injured person or their family;
 * - `IRREVERSIBLE_LOSS`: the irreversible loss of very important information;
 * - `ABSCONDING_RISK`: real grounds that the suspect will abscond, or that identifying them
 *   later will be impossible.
 */
export const GROUNDS = ['THREAT_TO_LIFE', 'IRREVERSIBLE_LOSS', 'ABSCONDING_RISK'] as const;
export type Ground = (typeof GROUNDS)[number];
export const groundSchema = z.enum(GROUNDS);

/**
 * A reference as written (case reference, formal-request reference, withdrawal reason):
 * 1-200 characters without surrounding whitespace. Not trimmed: the records that carry it
 * are signed, so parsing must never change them.
 */
export const referenceSchema = z
  .string()
  .min(1)
  .max(MAX_REFERENCE_LENGTH)
  .regex(/^\S(?:[\s\S]*\S)?$/, 'must not start or end with whitespace');
