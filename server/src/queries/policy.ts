/**
 * The follow-up policy of operational queries: how long the requesting state's NCB has to
 * acknowledge a notification, when the formal letter of request is due, when reminders fire
 * and how often a late obligation is escalated. Read from a JSON file at start, validated
 * with every problem reported at once, defaults filled in. `docs/POLICY.md` is this module in
 * prose: change both together.
 */
import { readFile } from 'node:fs/promises';
import { type CountryCode, countryCodeSchema, GROUNDS, type Ground } from '@ncp-hub/protocol';
import { z } from 'zod';
import { StartupError } from '../startup-error.js';

const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
type DurationUnit = keyof typeof UNIT_MS;

/** The longest duration a policy may hold: 365 days, in milliseconds. */
export const MAX_DURATION_MS = 365 * UNIT_MS.d;

/** The most reminders one ground may have before its formal-request deadline. */
export const MAX_REMINDERS = 10;

const DURATION_PATTERN = /^(\d+)([smhd])$/;
const DURATION_HINT = 'use <integer><unit> with unit s, m, h or d, e.g. "90s", "15m", "12h", "30d"';

/**
 * Parses a policy duration, `<integer><unit>` with unit `s`, `m`, `h` or `d`, to
 * milliseconds. A day is 24 hours of elapsed time, not a calendar or working day.
 *
 * @param text - the duration, e.g. `"90s"`, `"15m"`, `"12h"`, `"30d"`
 * @returns the duration in milliseconds
 * @throws RangeError when the text is not a duration, is zero or negative, or is longer
 *   than 365 days (the message quotes the text and says which)
 *
 * @example
 * ```ts
 * parseDuration('15m'); // 900_000
 * parseDuration('2d'); // 172_800_000
 * parseDuration('0s'); // throws RangeError: "0s": a duration must be longer than zero
 * ```
 */
export function parseDuration(text: string): number {
  const quoted = JSON.stringify(text);
  if (/^-\d+[smhd]$/.test(text)) {
    throw new RangeError(`${quoted}: a duration must be longer than zero`);
  }
  const match = DURATION_PATTERN.exec(text);
  if (!match) {
    throw new RangeError(`${quoted} is not a duration: ${DURATION_HINT}`);
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as DurationUnit];
  if (ms === 0) {
    throw new RangeError(`${quoted}: a duration must be longer than zero`);
  }
  if (ms > MAX_DURATION_MS) {
    throw new RangeError(`${quoted} is longer than the maximum, 365d`);
  }
  return ms;
}

/**
 * Writes milliseconds in the policy's own notation, with the largest unit that divides
 * them exactly; the inverse of {@link parseDuration} for whole seconds.
 *
 * @example
 * ```ts
 * formatDuration(172_800_000); // "2d"
 * formatDuration(5_400_000); // "90m"
 * formatDuration(1_500); // "1500ms"
 * ```
 */
export function formatDuration(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) {
    if (ms !== 0 && ms % UNIT_MS[unit] === 0) {
      return `${ms / UNIT_MS[unit]}${unit}`;
    }
  }
  return `${ms}ms`;
}

/** The follow-up of the formal letter of request, for one ground. */
export interface GroundFollowUp {
  /**
   * Time from opening the query to the deadline for filing the formal letter of request;
   * when it passes unfiled, the query's formal-request track becomes OVERDUE and escalates.
   *
   * @defaultValue `THREAT_TO_LIFE` 10 days, `IRREVERSIBLE_LOSS` 20 days, `ABSCONDING_RISK` 15 days
   */
  formalRequestDeadlineMs: number;
  /**
   * When reminders fire, as offsets before the deadline, each shorter than it, no two equal;
   * sorted largest offset first, i.e. in the order they fire. May be empty.
   *
   * @defaultValue `THREAT_TO_LIFE` 5, 2 and 1 days before; `IRREVERSIBLE_LOSS` 10, 3 and 1
   *   days before; `ABSCONDING_RISK` 7, 2 and 1 days before
   */
  reminderOffsetsMs: readonly number[];
}

/** The acknowledgement the requesting state's NCB owes for each query notification. */
export interface NcbAcknowledgementPolicy {
  /**
   * Time from the opening of the query (when the NCB is notified) to the acknowledgement SLA;
   * when it passes unacknowledged, the query's NCB track becomes ACK_OVERDUE and escalates.
   *
   * @defaultValue 4 hours
   */
  deadlineMs: number;
  /**
   * Interval at which an unacknowledged notification is sent again to the connected NCB
   * desks, before and after the SLA, until it is acknowledged. (A webhook is retried with
   * backoff until its system accepts the notification, not resent.)
   *
   * @defaultValue 30 minutes
   */
  resendEveryMs: number;
}

/** Escalation of late obligations to the requesting agency's supervisors and its NCB. */
export interface EscalationPolicy {
  /**
   * Interval at which an OVERDUE formal request is escalated again, from the deadline until
   * the request is filed or the query withdrawn.
   *
   * @defaultValue 1 day
   */
  repeatEveryMs: number;
}

/**
 * What a pair of states changes from the policy's defaults; each field absent here keeps the
 * policy-wide value, field by field (one ground's deadline can change while its reminders
 * stay).
 */
export interface PairOverride {
  /** The requesting state: the country of the agency that opens the query. */
  from: CountryCode;
  /** The requested state: the country of the counterpart agency. */
  to: CountryCode;
  /** Per-ground changes; a ground absent here keeps the policy-wide follow-up. */
  grounds: Partial<Record<Ground, Partial<GroundFollowUp>>>;
  /** Changes to the NCB acknowledgement; fields absent keep the policy-wide values. */
  ncbAcknowledgement: Partial<NcbAcknowledgementPolicy>;
  /** Changes to escalation; fields absent keep the policy-wide values. */
  escalation: Partial<EscalationPolicy>;
  /** Whether to notify the requested state's NCB too; absent keeps the policy-wide value. */
  informRequestedStateNcb?: boolean;
}

/** The resolved follow-up policy, every duration in milliseconds. Built by {@link parsePolicy}. */
export interface Policy {
  /** The follow-up of the formal request for each ground. */
  grounds: Readonly<Record<Ground, Readonly<GroundFollowUp>>>;
  /** @defaultValue `{ deadlineMs: 4 hours, resendEveryMs: 30 minutes }` */
  ncbAcknowledgement: Readonly<NcbAcknowledgementPolicy>;
  /** @defaultValue `{ repeatEveryMs: 1 day }` */
  escalation: Readonly<EscalationPolicy>;
  /**
   * Whether the requested state's NCB also receives the notification and its grounds, as
   * information (only the requesting state's NCB owes an acknowledgement).
   *
   * @defaultValue `false`
   */
  informRequestedStateNcb: boolean;
  /**
   * Overrides for particular (requesting, requested) pairs of states; at most one per pair.
   *
   * @defaultValue `[]`
   */
  pairs: readonly Readonly<PairOverride>[];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** The policy in force when no file is given; `docs/POLICY.md` gives the reason for each value. */
export const DEFAULT_POLICY: Policy = deepFreeze({
  grounds: {
    THREAT_TO_LIFE: {
      formalRequestDeadlineMs: 10 * UNIT_MS.d,
      reminderOffsetsMs: [5 * UNIT_MS.d, 2 * UNIT_MS.d, 1 * UNIT_MS.d],
    },
    IRREVERSIBLE_LOSS: {
      formalRequestDeadlineMs: 20 * UNIT_MS.d,
      reminderOffsetsMs: [10 * UNIT_MS.d, 3 * UNIT_MS.d, 1 * UNIT_MS.d],
    },
    ABSCONDING_RISK: {
      formalRequestDeadlineMs: 15 * UNIT_MS.d,
      reminderOffsetsMs: [7 * UNIT_MS.d, 2 * UNIT_MS.d, 1 * UNIT_MS.d],
    },
  },
  ncbAcknowledgement: { deadlineMs: 4 * UNIT_MS.h, resendEveryMs: 30 * UNIT_MS.m },
  escalation: { repeatEveryMs: 1 * UNIT_MS.d },
  informRequestedStateNcb: false,
  pairs: [],
});

/** The policy file is missing, unreadable, not JSON, or invalid. The message names the file and every problem. */
export class PolicyError extends StartupError {
  readonly source: string;
  readonly problems: readonly string[];

  /**
   * @param source - the file (or other origin) the policy came from
   * @param problems - one line per problem, each starting with the path in the file
   */
  constructor(source: string, problems: readonly string[]) {
    super(`invalid follow-up policy in ${source}:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.source = source;
    this.problems = problems;
    this.name = 'PolicyError';
  }
}

// ---------------------------------------------------------------------------------------
// The file's schema: every field optional, unknown fields refused, durations parsed to ms.

/** A strict object whose errors list the fields allowed at that place in the file. */
function strictObject<Shape extends z.ZodRawShape>(shape: Shape, noun = 'field') {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => {
      if (issue.code === 'unrecognized_keys') return `unknown ${noun}; allowed here: ${allowed}`;
      if (issue.code === 'invalid_type') return `expected a JSON object with any of: ${allowed}`;
      return undefined;
    },
  });
}

const durationSchema = z.string({ error: `expected a duration string: ${DURATION_HINT}` }).transform((text, ctx) => {
  try {
    return parseDuration(text);
  } catch (error) {
    ctx.issues.push({ code: 'custom', message: (error as Error).message, input: text });
    return z.NEVER;
  }
});

const remindersSchema = z
  .array(durationSchema, { error: 'expected a list of durations' })
  .max(MAX_REMINDERS, `at most ${MAX_REMINDERS} reminders`)
  .superRefine((offsets, ctx) => {
    offsets.forEach((offset, index) => {
      const first = offsets.indexOf(offset);
      if (first !== index) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `duplicate reminder: ${formatDuration(offset)} is already at [${first}]`,
        });
      }
    });
  });

const groundFileSchema = strictObject({
  formalRequestDeadline: durationSchema.optional(),
  reminders: remindersSchema.optional(),
});

const groundsFileSchema = strictObject(
  Object.fromEntries(GROUNDS.map((ground) => [ground, groundFileSchema.optional()])) as Record<
    Ground,
    z.ZodOptional<typeof groundFileSchema>
  >,
  'ground',
);

const ncbAcknowledgementFileSchema = strictObject({
  deadline: durationSchema.optional(),
  resendEvery: durationSchema.optional(),
});

const escalationFileSchema = strictObject({ repeatEvery: durationSchema.optional() });

/** A pair's country: the protocol's schema, with a message that says which state is missing. */
function pairCountrySchema(state: string) {
  return z
    .string({
      error: (issue) => (issue.input === undefined ? `required: the ${state} state's country code` : undefined),
    })
    .pipe(countryCodeSchema);
}

const pairFileSchema = strictObject({
  from: pairCountrySchema('requesting'),
  to: pairCountrySchema('requested'),
  grounds: groundsFileSchema.optional(),
  ncbAcknowledgement: ncbAcknowledgementFileSchema.optional(),
  escalation: escalationFileSchema.optional(),
  informRequestedStateNcb: z.boolean({ error: 'expected true or false' }).optional(),
}).refine((pair) => pair.from !== pair.to, {
  message: 'from and to must differ: an operational query goes to another state',
  path: ['to'],
});

const policyFileSchema = strictObject({
  grounds: groundsFileSchema.optional(),
  ncbAcknowledgement: ncbAcknowledgementFileSchema.optional(),
  escalation: escalationFileSchema.optional(),
  informRequestedStateNcb: z.boolean({ error: 'expected true or false' }).optional(),
  pairs: z.array(pairFileSchema, { error: 'expected a list of pair overrides' }).optional(),
});

type GroundFile = z.output<typeof groundFileSchema>;

function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const key of path) {
    text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  }
  return text === '' ? '(top level)' : text;
}

function describeIssue(issue: z.core.$ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: ${issue.message}`);
  }
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

/**
 * Checks that every reminder of one ground falls after the query is opened, once `change`
 * (a file's fields) is laid over `base` (what it inherits). Returns the problems.
 */
function checkReminders(
  base: GroundFollowUp,
  change: GroundFile | undefined,
  path: string,
  inheritedFrom: string,
): string[] {
  if (change === undefined) return [];
  const deadline = change.formalRequestDeadline ?? base.formalRequestDeadlineMs;
  const problems: string[] = [];
  if (change.reminders !== undefined) {
    change.reminders.forEach((offset, index) => {
      if (offset >= deadline) {
        problems.push(
          `${path}.reminders[${index}]: reminder ${formatDuration(offset)} before the deadline is not shorter than the formal-request deadline ${formatDuration(deadline)}`,
        );
      }
    });
  } else {
    const late = base.reminderOffsetsMs.filter((offset) => offset >= deadline);
    if (late.length > 0) {
      problems.push(
        `${path}.formalRequestDeadline: ${formatDuration(deadline)} is not longer than the reminder${late.length > 1 ? 's' : ''} ${late.map(formatDuration).join(', ')} inherited from ${inheritedFrom}; set ${path}.reminders too`,
      );
    }
  }
  return problems;
}

function mergeGround(base: GroundFollowUp, change: GroundFile | undefined): GroundFollowUp {
  return {
    formalRequestDeadlineMs: change?.formalRequestDeadline ?? base.formalRequestDeadlineMs,
    reminderOffsetsMs: change?.reminders ? [...change.reminders].sort((a, b) => b - a) : [...base.reminderOffsetsMs],
  };
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as Partial<T>;
}

/**
 * Validates a policy file's parsed JSON and resolves it over {@link DEFAULT_POLICY}: every
 * field is optional, unknown fields are refused, durations become milliseconds, reminders are
 * sorted in firing order. Every problem is reported at once.
 *
 * @param json - the file's content, after `JSON.parse`
 * @param source - where it came from, named in errors (normally the file path)
 * @returns the resolved policy, frozen
 * @throws {@link PolicyError} naming `source` and, for each problem, its path in the file
 *
 * @example
 * ```ts
 * const policy = parsePolicy({ ncbAcknowledgement: { deadline: '2h' } }, 'policy.json');
 * policy.ncbAcknowledgement.deadlineMs; // 7_200_000
 * policy.ncbAcknowledgement.resendEveryMs; // 1_800_000 (the default)
 * ```
 */
export function parsePolicy(json: unknown, source = 'policy'): Policy {
  const parsed = policyFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new PolicyError(source, parsed.error.issues.flatMap(describeIssue));
  }
  const file = parsed.data;
  const problems: string[] = [];

  const grounds = {} as Record<Ground, GroundFollowUp>;
  for (const ground of GROUNDS) {
    const change = file.grounds?.[ground];
    problems.push(...checkReminders(DEFAULT_POLICY.grounds[ground], change, `grounds.${ground}`, 'the defaults'));
    grounds[ground] = mergeGround(DEFAULT_POLICY.grounds[ground], change);
  }

  const firstIndexOfPair = new Map<string, number>();
  const pairs: PairOverride[] = (file.pairs ?? []).map((pair, index) => {
    const path = `pairs[${index}]`;
    const key = `${pair.from}>${pair.to}`;
    const first = firstIndexOfPair.get(key);
    if (first === undefined) {
      firstIndexOfPair.set(key, index);
    } else {
      problems.push(`${path}: a second override for ${pair.from} to ${pair.to}; the first is pairs[${first}]`);
    }
    const pairGrounds: PairOverride['grounds'] = {};
    for (const ground of GROUNDS) {
      const change = pair.grounds?.[ground];
      if (change === undefined) continue;
      problems.push(...checkReminders(grounds[ground], change, `${path}.grounds.${ground}`, `grounds.${ground}`));
      pairGrounds[ground] = definedOnly({
        formalRequestDeadlineMs: change.formalRequestDeadline,
        reminderOffsetsMs: change.reminders ? [...change.reminders].sort((a, b) => b - a) : undefined,
      });
    }
    return {
      from: pair.from,
      to: pair.to,
      grounds: pairGrounds,
      ncbAcknowledgement: definedOnly({
        deadlineMs: pair.ncbAcknowledgement?.deadline,
        resendEveryMs: pair.ncbAcknowledgement?.resendEvery,
      }),
      escalation: definedOnly({ repeatEveryMs: pair.escalation?.repeatEvery }),
      ...(pair.informRequestedStateNcb === undefined ? {} : { informRequestedStateNcb: pair.informRequestedStateNcb }),
    };
  });

  if (problems.length > 0) throw new PolicyError(source, problems);

  return deepFreeze({
    grounds,
    ncbAcknowledgement: {
      deadlineMs: file.ncbAcknowledgement?.deadline ?? DEFAULT_POLICY.ncbAcknowledgement.deadlineMs,
      resendEveryMs: file.ncbAcknowledgement?.resendEvery ?? DEFAULT_POLICY.ncbAcknowledgement.resendEveryMs,
    },
    escalation: {
      repeatEveryMs: file.escalation?.repeatEvery ?? DEFAULT_POLICY.escalation.repeatEveryMs,
    },
    informRequestedStateNcb: file.informRequestedStateNcb ?? DEFAULT_POLICY.informRequestedStateNcb,
    pairs,
  });
}

/**
 * Loads the follow-up policy from a JSON file, or returns {@link DEFAULT_POLICY} when no file
 * is given. Meant to run once at start, so that a bad policy stops the hub before it accepts
 * a query.
 *
 * @param file - path of the policy file; `undefined` for the defaults
 * @throws {@link PolicyError} naming the file when it is missing, unreadable, not JSON, or
 *   invalid (see {@link parsePolicy})
 *
 * @example
 * ```ts
 * const policy = await loadPolicy(process.env.POLICY_FILE);
 * ```
 */
export async function loadPolicy(file: string | undefined): Promise<Policy> {
  if (file === undefined) return DEFAULT_POLICY;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new PolicyError(file, [
      code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code ?? (error as Error).message})`,
    ]);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PolicyError(file, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parsePolicy(json, file);
}

/** What the follow-up of one query depends on. */
export interface FollowUpQuery {
  /** The legal ground the query was opened on. */
  ground: Ground;
  /** The requesting state: the country of the agency that opened the query. */
  from: CountryCode;
  /** The requested state: the country of the counterpart agency. */
  to: CountryCode;
}

/** The timings that drive one query's follow-up jobs, every duration in milliseconds. */
export interface FollowUpTimings {
  /** From opening to the formal-request deadline. */
  formalRequestDeadlineMs: number;
  /** Reminder offsets before the deadline, largest first: the earliest reminder first. */
  reminderOffsetsMs: number[];
  /** From the NCB notification to its acknowledgement SLA. */
  ncbAckDeadlineMs: number;
  /** Interval between resends of an unacknowledged NCB notification. */
  ncbResendEveryMs: number;
  /** Interval between escalations of an overdue formal request. */
  escalationEveryMs: number;
  /** Whether the requested state's NCB is informed too. */
  informRequestedStateNcb: boolean;
}

/**
 * The follow-up timings of one query: the policy-wide values for its ground, with the
 * override for its (from, to) pair of states laid over them field by field. The direction
 * matters: an override for UA to PL does not apply to PL to UA.
 *
 * @example
 * ```ts
 * const timings = resolveFollowUp(policy, { ground: 'THREAT_TO_LIFE', from: 'UA', to: 'PL' });
 * const deadline = openedAt + timings.formalRequestDeadlineMs;
 * const reminders = timings.reminderOffsetsMs.map((offset) => deadline - offset);
 * ```
 */
export function resolveFollowUp(policy: Policy, query: FollowUpQuery): FollowUpTimings {
  const pair = policy.pairs.find((candidate) => candidate.from === query.from && candidate.to === query.to);
  const ground = policy.grounds[query.ground];
  const groundChange = pair?.grounds[query.ground];
  return {
    formalRequestDeadlineMs: groundChange?.formalRequestDeadlineMs ?? ground.formalRequestDeadlineMs,
    reminderOffsetsMs: [...(groundChange?.reminderOffsetsMs ?? ground.reminderOffsetsMs)],
    ncbAckDeadlineMs: pair?.ncbAcknowledgement.deadlineMs ?? policy.ncbAcknowledgement.deadlineMs,
    ncbResendEveryMs: pair?.ncbAcknowledgement.resendEveryMs ?? policy.ncbAcknowledgement.resendEveryMs,
    escalationEveryMs: pair?.escalation.repeatEveryMs ?? policy.escalation.repeatEveryMs,
    informRequestedStateNcb: pair?.informRequestedStateNcb ?? policy.informRequestedStateNcb,
  };
}
