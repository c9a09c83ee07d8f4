import type { EnvelopeRecipient } from '@ncp-hub/crypto';
import type { DeviceAddress, OfficerRef } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import { type RecipientSource, sendToCurrentDevices } from '../../src/client/send-to-current-devices.js';
import { hubErrorOf } from './fakes.js';

const members: OfficerRef[] = [
  { agency: 'UA-NPU', officer: 'a' },
  { agency: 'PL-KGP', officer: 'b' },
];
const recipient = (address: string): EnvelopeRecipient => ({
  address: address as DeviceAddress,
  encryptionKey: new Uint8Array(32),
});

/** A directory whose answers are given in turn; it records the officers invalidated, and whom it was asked for. */
function directory(...answers: string[][]): RecipientSource & {
  invalidated: OfficerRef[][];
  asked: OfficerRef[][];
  lookups: number;
} {
  const source = {
    invalidated: [] as OfficerRef[][],
    asked: [] as OfficerRef[][],
    lookups: 0,
    async recipientsOf(officers: readonly OfficerRef[]) {
      source.asked.push([...officers]);
      const answer = answers[Math.min(source.lookups, answers.length - 1)] ?? [];
      source.lookups += 1;
      return answer.map(recipient);
    },
    invalidate(officers: readonly OfficerRef[]) {
      source.invalidated.push([...officers]);
    },
  };
  return source;
}

/**
 * Sends through `source`; `answer` is the hub: it gets the recipients of each attempt and
 * resolves (stored) or throws. Resolves with what came back and the recipients of every attempt.
 */
function send(
  source: RecipientSource,
  answer: (recipients: string[]) => string,
  currentMembers?: () => Promise<OfficerRef[]>,
) {
  const attempts: string[][] = [];
  const result = sendToCurrentDevices({
    members,
    ...(currentMembers ? { currentMembers } : {}),
    exclude: 'UA-NPU/a/1',
    directory: source,
    attempt: async (recipients) => {
      attempts.push(recipients.map((r) => r.address));
      return answer(attempts.at(-1) ?? []);
    },
  });
  return { result, attempts };
}

const refuse =
  (error: unknown = hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/9'])) =>
  (): string => {
    throw error;
  };

describe('sendToCurrentDevices', () => {
  it('sends once when the hub accepts', async () => {
    const source = directory(['PL-KGP/b/1']);
    const { result, attempts } = send(source, () => 'stored');
    expect(await result).toBe('stored');
    expect(attempts).toEqual([['PL-KGP/b/1']]);
    expect(source.invalidated).toEqual([]);
  });

  it('on RECIPIENTS_CHANGED looks the members up again and sends to the new devices', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/1', 'PL-KGP/b/2']);
    const { result, attempts } = send(source, (recipients) =>
      recipients.length < 2 ? refuse(hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/2']))() : 'stored',
    );
    expect(await result).toBe('stored');
    expect(attempts).toEqual([['PL-KGP/b/1'], ['PL-KGP/b/1', 'PL-KGP/b/2']]);
    // Only the officer the hub named is looked up again.
    expect(source.invalidated).toEqual([[{ agency: 'PL-KGP', officer: 'b' }]]);
  });

  it('looks every member up again when the hub names no missing device', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/1', 'PL-KGP/b/2']);
    const { result } = send(source, (recipients) =>
      recipients.length < 2 ? refuse(hubErrorOf('RECIPIENTS_CHANGED'))() : 'stored',
    );
    expect(await result).toBe('stored');
    expect(source.invalidated).toEqual([members]);
  });

  it('seals to a member added since the members were taken: they are taken again after the refusal', async () => {
    const c = { agency: 'NCB-PL', officer: 'c' };
    const source = directory(['PL-KGP/b/1'], ['NCB-PL/c/1', 'PL-KGP/b/1']);
    let taken = 0;
    const { result, attempts } = send(
      source,
      (recipients) =>
        recipients.includes('NCB-PL/c/1') ? 'stored' : refuse(hubErrorOf('RECIPIENTS_CHANGED', ['NCB-PL/c/1']))(),
      async () => {
        taken += 1;
        return [...members, c];
      },
    );
    expect(await result).toBe('stored');
    expect(taken).toBe(1);
    expect(source.asked).toEqual([members, [...members, c]]);
    expect(source.invalidated).toEqual([[c]]);
    expect(attempts).toEqual([['PL-KGP/b/1'], ['NCB-PL/c/1', 'PL-KGP/b/1']]);
  });

  it('gives up after maxResends and rethrows the hub error', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/2'], ['PL-KGP/b/3'], ['PL-KGP/b/4']);
    const refusal = hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/9']);
    const { result, attempts } = send(source, refuse(refusal));
    await expect(result).rejects.toBe(refusal);
    expect(attempts).toHaveLength(3);
    expect(source.invalidated).toHaveLength(2);
  });

  it('does not send the same recipients again: looking again changed nothing', async () => {
    const { result, attempts } = send(
      directory(['PL-KGP/b/1']),
      refuse(hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/unverifiable'])),
    );
    await expect(result).rejects.toMatchObject({ code: 'RECIPIENTS_CHANGED', missing: ['PL-KGP/b/unverifiable'] });
    expect(attempts).toHaveLength(1);
  });

  it('rethrows any other error at once', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/2']);
    for (const error of [hubErrorOf('RATE_LIMITED'), hubErrorOf('REQUEST_TIMEOUT'), new TypeError('bug')]) {
      const { result, attempts } = send(source, refuse(error));
      await expect(result).rejects.toBe(error);
      expect(attempts).toHaveLength(1);
    }
    expect(source.invalidated).toEqual([]);
  });
});
