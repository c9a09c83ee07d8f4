import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_POLICY,
  formatDuration,
  loadPolicy,
  PolicyError,
  parseDuration,
  parsePolicy,
  resolveFollowUp,
} from '../src/queries/policy.js';

const S = 1_000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

/** The problems `parsePolicy` reports for `json`; fails the test when it accepts it. */
function problemsOf(json: unknown): readonly string[] {
  try {
    parsePolicy(json, 'policy.json');
  } catch (error) {
    expect(error).toBeInstanceOf(PolicyError);
    const policyError = error as PolicyError;
    expect(policyError.source).toBe('policy.json');
    expect(policyError.message).toContain('invalid follow-up policy in policy.json:');
    for (const problem of policyError.problems) expect(policyError.message).toContain(problem);
    return policyError.problems;
  }
  throw new Error('the policy was accepted');
}

describe('parseDuration', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect(parseDuration('90s')).toBe(90 * S);
    expect(parseDuration('15m')).toBe(15 * M);
    expect(parseDuration('12h')).toBe(12 * H);
    expect(parseDuration('30d')).toBe(30 * D);
    expect(parseDuration('365d')).toBe(365 * D);
  });

  it('refuses zero, negatives, more than 365 days and anything else', () => {
    expect(() => parseDuration('0s')).toThrow('"0s": a duration must be longer than zero');
    expect(() => parseDuration('-5m')).toThrow('"-5m": a duration must be longer than zero');
    expect(() => parseDuration('366d')).toThrow('"366d" is longer than the maximum, 365d');
    expect(() => parseDuration('8761h')).toThrow('longer than the maximum');
    for (const text of ['', '15', 'm', '1.5h', '15 m', '15M', '2w', ' 1d', '1d ', '1e3s', '0x10s']) {
      expect(() => parseDuration(text), text).toThrow(`${JSON.stringify(text)} is not a duration: use <integer><unit>`);
    }
    expect(() => parseDuration('1d')).not.toThrow();
  });

  it('round-trips through formatDuration', () => {
    for (const text of ['90s', '15m', '12h', '30d', '90m', '25h']) {
      expect(formatDuration(parseDuration(text))).toBe(text);
    }
    expect(formatDuration(1_500)).toBe('1500ms');
  });
});

describe('parsePolicy', () => {
  it('fills the documented defaults into an empty file', () => {
    expect(parsePolicy({})).toEqual({
      grounds: {
        THREAT_TO_LIFE: { formalRequestDeadlineMs: 10 * D, reminderOffsetsMs: [5 * D, 2 * D, 1 * D] },
        IRREVERSIBLE_LOSS: { formalRequestDeadlineMs: 20 * D, reminderOffsetsMs: [10 * D, 3 * D, 1 * D] },
        ABSCONDING_RISK: { formalRequestDeadlineMs: 15 * D, reminderOffsetsMs: [7 * D, 2 * D, 1 * D] },
      },
      ncbAcknowledgement: { deadlineMs: 4 * H, resendEveryMs: 30 * M },
      escalation: { repeatEveryMs: 1 * D },
      informRequestedStateNcb: false,
      pairs: [],
    });
    expect(parsePolicy({})).toEqual(DEFAULT_POLICY);
  });

  it('freezes the defaults and every parsed policy', () => {
    expect(Object.isFrozen(DEFAULT_POLICY.grounds.THREAT_TO_LIFE.reminderOffsetsMs)).toBe(true);
    const policy = parsePolicy({ pairs: [{ from: 'UA', to: 'PL', escalation: { repeatEvery: '12h' } }] });
    expect(Object.isFrozen(policy.pairs[0]?.escalation)).toBe(true);
    expect(Object.isFrozen(policy.grounds.ABSCONDING_RISK)).toBe(true);
  });

  it('reads a full file, sorting reminders in firing order', () => {
    const policy = parsePolicy({
      grounds: {
        THREAT_TO_LIFE: { formalRequestDeadline: '7d', reminders: ['1d', '3d', '12h'] },
        IRREVERSIBLE_LOSS: { formalRequestDeadline: '30d', reminders: ['14d'] },
        ABSCONDING_RISK: { formalRequestDeadline: '18d', reminders: [] },
      },
      ncbAcknowledgement: { deadline: '2h', resendEvery: '15m' },
      escalation: { repeatEvery: '12h' },
      informRequestedStateNcb: true,
      pairs: [
        {
          from: 'UA',
          to: 'PL',
          grounds: { THREAT_TO_LIFE: { formalRequestDeadline: '5d', reminders: ['2d', '4d'] } },
          ncbAcknowledgement: { deadline: '1h', resendEvery: '10m' },
          escalation: { repeatEvery: '6h' },
          informRequestedStateNcb: false,
        },
      ],
    });
    expect(policy).toEqual({
      grounds: {
        THREAT_TO_LIFE: { formalRequestDeadlineMs: 7 * D, reminderOffsetsMs: [3 * D, 1 * D, 12 * H] },
        IRREVERSIBLE_LOSS: { formalRequestDeadlineMs: 30 * D, reminderOffsetsMs: [14 * D] },
        ABSCONDING_RISK: { formalRequestDeadlineMs: 18 * D, reminderOffsetsMs: [] },
      },
      ncbAcknowledgement: { deadlineMs: 2 * H, resendEveryMs: 15 * M },
      escalation: { repeatEveryMs: 12 * H },
      informRequestedStateNcb: true,
      pairs: [
        {
          from: 'UA',
          to: 'PL',
          grounds: { THREAT_TO_LIFE: { formalRequestDeadlineMs: 5 * D, reminderOffsetsMs: [4 * D, 2 * D] } },
          ncbAcknowledgement: { deadlineMs: 1 * H, resendEveryMs: 10 * M },
          escalation: { repeatEveryMs: 6 * H },
          informRequestedStateNcb: false,
        },
      ],
    });
  });

  it('keeps defaults for the fields a ground leaves out', () => {
    const policy = parsePolicy({ grounds: { IRREVERSIBLE_LOSS: { formalRequestDeadline: '40d' } } });
    expect(policy.grounds.IRREVERSIBLE_LOSS).toEqual({
      formalRequestDeadlineMs: 40 * D,
      reminderOffsetsMs: [10 * D, 3 * D, 1 * D],
    });
    expect(policy.grounds.THREAT_TO_LIFE).toEqual(DEFAULT_POLICY.grounds.THREAT_TO_LIFE);
  });

  it('accepts a whole lifecycle in seconds, for tests', () => {
    const policy = parsePolicy({
      grounds: {
        THREAT_TO_LIFE: { formalRequestDeadline: '6s', reminders: ['2s', '4s'] },
        IRREVERSIBLE_LOSS: { formalRequestDeadline: '6s', reminders: ['3s'] },
        ABSCONDING_RISK: { formalRequestDeadline: '6s', reminders: ['5s', '1s'] },
      },
      ncbAcknowledgement: { deadline: '3s', resendEvery: '1s' },
      escalation: { repeatEvery: '2s' },
    });
    expect(resolveFollowUp(policy, { ground: 'THREAT_TO_LIFE', from: 'UA', to: 'PL' })).toEqual({
      formalRequestDeadlineMs: 6 * S,
      reminderOffsetsMs: [4 * S, 2 * S],
      ncbAckDeadlineMs: 3 * S,
      ncbResendEveryMs: 1 * S,
      escalationEveryMs: 2 * S,
      informRequestedStateNcb: false,
    });
  });

  it('refuses a bad duration, naming its path', () => {
    expect(
      problemsOf({
        grounds: { THREAT_TO_LIFE: { formalRequestDeadline: '10 days', reminders: ['1d', 86_400] } },
        ncbAcknowledgement: { deadline: '0m', resendEvery: '-1m' },
        escalation: { repeatEvery: '400d' },
      }),
    ).toEqual([
      'grounds.THREAT_TO_LIFE.formalRequestDeadline: "10 days" is not a duration: use <integer><unit> with unit s, m, h or d, e.g. "90s", "15m", "12h", "30d"',
      'grounds.THREAT_TO_LIFE.reminders[1]: expected a duration string: use <integer><unit> with unit s, m, h or d, e.g. "90s", "15m", "12h", "30d"',
      'ncbAcknowledgement.deadline: "0m": a duration must be longer than zero',
      'ncbAcknowledgement.resendEvery: "-1m": a duration must be longer than zero',
      'escalation.repeatEvery: "400d" is longer than the maximum, 365d',
    ]);
  });

  it('refuses a reminder that is not shorter than the deadline', () => {
    expect(
      problemsOf({ grounds: { ABSCONDING_RISK: { formalRequestDeadline: '3d', reminders: ['1d', '3d', '4d'] } } }),
    ).toEqual([
      'grounds.ABSCONDING_RISK.reminders[1]: reminder 3d before the deadline is not shorter than the formal-request deadline 3d',
      'grounds.ABSCONDING_RISK.reminders[2]: reminder 4d before the deadline is not shorter than the formal-request deadline 3d',
    ]);
  });

  it('refuses a deadline shortened below the reminders it inherits', () => {
    expect(problemsOf({ grounds: { THREAT_TO_LIFE: { formalRequestDeadline: '2d' } } })).toEqual([
      'grounds.THREAT_TO_LIFE.formalRequestDeadline: 2d is not longer than the reminders 5d, 2d inherited from the defaults; set grounds.THREAT_TO_LIFE.reminders too',
    ]);
    expect(
      problemsOf({
        grounds: { THREAT_TO_LIFE: { reminders: ['8d'] } },
        pairs: [
          { from: 'UA', to: 'PL', grounds: { THREAT_TO_LIFE: { formalRequestDeadline: '8d' } } },
          { from: 'UA', to: 'DE', grounds: { THREAT_TO_LIFE: { reminders: ['12d'] } } },
        ],
      }),
    ).toEqual([
      'pairs[0].grounds.THREAT_TO_LIFE.formalRequestDeadline: 8d is not longer than the reminder 8d inherited from grounds.THREAT_TO_LIFE; set pairs[0].grounds.THREAT_TO_LIFE.reminders too',
      'pairs[1].grounds.THREAT_TO_LIFE.reminders[0]: reminder 12d before the deadline is not shorter than the formal-request deadline 10d',
    ]);
  });

  it('refuses a duplicate reminder, in any unit', () => {
    expect(problemsOf({ grounds: { IRREVERSIBLE_LOSS: { reminders: ['1d', '3d', '24h'] } } })).toEqual([
      'grounds.IRREVERSIBLE_LOSS.reminders[2]: duplicate reminder: 1d is already at [0]',
    ]);
  });

  it('refuses more than ten reminders', () => {
    const reminders = Array.from({ length: 11 }, (_, index) => `${index + 1}h`);
    expect(problemsOf({ grounds: { THREAT_TO_LIFE: { reminders } } })).toEqual([
      'grounds.THREAT_TO_LIFE.reminders: at most 10 reminders',
    ]);
  });

  it('refuses an unknown ground', () => {
    expect(
      problemsOf({
        grounds: { KIDNAPPING: { formalRequestDeadline: '1d' } },
        pairs: [{ from: 'UA', to: 'PL', grounds: { threat_to_life: {} } }],
      }),
    ).toEqual([
      'grounds.KIDNAPPING: unknown ground; allowed here: THREAT_TO_LIFE, IRREVERSIBLE_LOSS, ABSCONDING_RISK',
      'pairs[0].grounds.threat_to_life: unknown ground; allowed here: THREAT_TO_LIFE, IRREVERSIBLE_LOSS, ABSCONDING_RISK',
    ]);
  });

  it('refuses unknown fields at every level, naming each', () => {
    expect(
      problemsOf({
        grounds: { THREAT_TO_LIFE: { deadline: '1d' } },
        ncbAcknowledgement: { sla: '4h' },
        escalation: { every: '1d', to: 'supervisor' },
        pairs: [{ from: 'UA', to: 'PL', informNcb: true }],
        reminders: [],
      }),
    ).toEqual([
      'grounds.THREAT_TO_LIFE.deadline: unknown field; allowed here: formalRequestDeadline, reminders',
      'ncbAcknowledgement.sla: unknown field; allowed here: deadline, resendEvery',
      'escalation.every: unknown field; allowed here: repeatEvery',
      'escalation.to: unknown field; allowed here: repeatEvery',
      'pairs[0].informNcb: unknown field; allowed here: from, to, grounds, ncbAcknowledgement, escalation, informRequestedStateNcb',
      'reminders: unknown field; allowed here: grounds, ncbAcknowledgement, escalation, informRequestedStateNcb, pairs',
    ]);
  });

  it('refuses a second override for the same pair, but not the reverse direction', () => {
    expect(
      problemsOf({
        pairs: [
          { from: 'UA', to: 'PL', escalation: { repeatEvery: '12h' } },
          { from: 'PL', to: 'UA' },
          { from: 'UA', to: 'PL', informRequestedStateNcb: true },
        ],
      }),
    ).toEqual(['pairs[2]: a second override for UA to PL; the first is pairs[0]']);
  });

  it('refuses a bad country code and a pair within one state', () => {
    expect(
      problemsOf({
        pairs: [{ from: 'ua', to: 'POL' }, { to: 'PL' }, { from: 'PL', to: 'PL' }],
      }),
    ).toEqual([
      'pairs[0].from: country: ISO 3166-1 alpha-2, upper case',
      'pairs[0].to: country: ISO 3166-1 alpha-2, upper case',
      "pairs[1].from: required: the requesting state's country code",
      'pairs[2].to: from and to must differ: an operational query goes to another state',
    ]);
  });

  it('refuses values of the wrong type', () => {
    expect(problemsOf(null)).toEqual([
      '(top level): expected a JSON object with any of: grounds, ncbAcknowledgement, escalation, informRequestedStateNcb, pairs',
    ]);
    expect(problemsOf([])).toHaveLength(1);
    expect(
      problemsOf({
        grounds: { THREAT_TO_LIFE: { reminders: '1d' } },
        informRequestedStateNcb: 'yes',
        pairs: { from: 'UA', to: 'PL' },
      }),
    ).toEqual([
      'grounds.THREAT_TO_LIFE.reminders: expected a list of durations',
      'informRequestedStateNcb: expected true or false',
      'pairs: expected a list of pair overrides',
    ]);
  });
});

describe('resolveFollowUp', () => {
  const policy = parsePolicy({
    ncbAcknowledgement: { deadline: '2h' },
    pairs: [
      {
        from: 'UA',
        to: 'PL',
        grounds: { ABSCONDING_RISK: { formalRequestDeadline: '12d' } },
        ncbAcknowledgement: { resendEvery: '10m' },
        informRequestedStateNcb: true,
      },
      { from: 'PL', to: 'UA', grounds: { ABSCONDING_RISK: { reminders: ['3d'] } }, escalation: { repeatEvery: '8h' } },
    ],
  });

  it('gives the policy-wide values when no pair matches', () => {
    expect(resolveFollowUp(policy, { ground: 'ABSCONDING_RISK', from: 'DE', to: 'PL' })).toEqual({
      formalRequestDeadlineMs: 15 * D,
      reminderOffsetsMs: [7 * D, 2 * D, 1 * D],
      ncbAckDeadlineMs: 2 * H,
      ncbResendEveryMs: 30 * M,
      escalationEveryMs: 1 * D,
      informRequestedStateNcb: false,
    });
  });

  it('changes only the fields the matching pair overrides', () => {
    expect(resolveFollowUp(policy, { ground: 'ABSCONDING_RISK', from: 'UA', to: 'PL' })).toEqual({
      formalRequestDeadlineMs: 12 * D,
      reminderOffsetsMs: [7 * D, 2 * D, 1 * D],
      ncbAckDeadlineMs: 2 * H,
      ncbResendEveryMs: 10 * M,
      escalationEveryMs: 1 * D,
      informRequestedStateNcb: true,
    });
    expect(resolveFollowUp(policy, { ground: 'ABSCONDING_RISK', from: 'PL', to: 'UA' })).toEqual({
      formalRequestDeadlineMs: 15 * D,
      reminderOffsetsMs: [3 * D],
      ncbAckDeadlineMs: 2 * H,
      ncbResendEveryMs: 30 * M,
      escalationEveryMs: 8 * H,
      informRequestedStateNcb: false,
    });
  });

  it('leaves the grounds a pair does not mention alone', () => {
    expect(resolveFollowUp(policy, { ground: 'THREAT_TO_LIFE', from: 'UA', to: 'PL' })).toMatchObject({
      formalRequestDeadlineMs: 10 * D,
      reminderOffsetsMs: [5 * D, 2 * D, 1 * D],
      ncbResendEveryMs: 10 * M,
    });
  });

  it('returns reminders the caller may change without touching the policy', () => {
    const timings = resolveFollowUp(DEFAULT_POLICY, { ground: 'THREAT_TO_LIFE', from: 'UA', to: 'PL' });
    timings.reminderOffsetsMs.push(1);
    expect(DEFAULT_POLICY.grounds.THREAT_TO_LIFE.reminderOffsetsMs).toEqual([5 * D, 2 * D, 1 * D]);
  });
});

describe('loadPolicy', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ncp-hub-policy-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives the defaults when no file is named', async () => {
    expect(await loadPolicy(undefined)).toBe(DEFAULT_POLICY);
  });

  it('reads and validates a file', async () => {
    const file = join(dir, 'policy.json');
    await writeFile(file, JSON.stringify({ escalation: { repeatEvery: '6h' } }));
    const policy = await loadPolicy(file);
    expect(policy.escalation.repeatEveryMs).toBe(6 * H);
    expect(policy.grounds).toEqual(DEFAULT_POLICY.grounds);
  });

  it('names a missing file', async () => {
    const file = join(dir, 'absent.json');
    const error = await loadPolicy(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).message).toBe(`invalid follow-up policy in ${file}:\n  - the file does not exist`);
  });

  it('names an unreadable file', async () => {
    const error = await loadPolicy(dir).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).problems).toEqual(['the file cannot be read (EISDIR)']);
  });

  it('names a file that is not JSON', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{ "escalation": { "repeatEvery": "6h", } }');
    const error = await loadPolicy(file).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PolicyError);
    expect((error as PolicyError).source).toBe(file);
    expect((error as PolicyError).message).toContain(`invalid follow-up policy in ${file}:\n  - not valid JSON: `);
  });

  it('names the file and the path of each problem in an invalid policy', async () => {
    const file = join(dir, 'invalid.json');
    await writeFile(file, JSON.stringify({ escalation: { repeatEvery: '1w' } }));
    await expect(loadPolicy(file)).rejects.toThrow(
      `invalid follow-up policy in ${file}:\n  - escalation.repeatEvery: "1w" is not a duration`,
    );
  });
});
