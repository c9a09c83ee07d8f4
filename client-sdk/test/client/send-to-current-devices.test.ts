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

/** A directory whose answers are given in turn; it records invalidations. */
function directory(...answers: string[][]): RecipientSource & { invalidated: number; lookups: number } {
  const source = {
    invalidated: 0,
    lookups: 0,
    async recipientsOf() {
      const answer = answers[Math.min(source.lookups, answers.length - 1)] ?? [];
      source.lookups += 1;
      return answer.map(recipient);
    },
    invalidate(officers: readonly OfficerRef[]) {
      expect(officers).toEqual(members);
      source.invalidated += 1;
    },
  };
  return source;
}

/**
 * Sends through `source`; `answer` is the hub: it gets the recipients of each attempt and
 * resolves (stored) or throws. Resolves with what came back and the recipients of every attempt.
 */
function send(source: RecipientSource, answer: (recipients: string[]) => string) {
  const attempts: string[][] = [];
  const result = sendToCurrentDevices({
    members,
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
    expect(source.invalidated).toBe(0);
  });

  it('on RECIPIENTS_CHANGED looks the members up again and sends to the new devices', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/1', 'PL-KGP/b/2']);
    const { result, attempts } = send(source, (recipients) =>
      recipients.length < 2 ? refuse(hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/2']))() : 'stored',
    );
    expect(await result).toBe('stored');
    expect(attempts).toEqual([['PL-KGP/b/1'], ['PL-KGP/b/1', 'PL-KGP/b/2']]);
    expect(source.invalidated).toBe(1);
  });

  it('gives up after maxResends and rethrows the hub error', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/2'], ['PL-KGP/b/3'], ['PL-KGP/b/4']);
    const refusal = hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/9']);
    const { result, attempts } = send(source, refuse(refusal));
    await expect(result).rejects.toBe(refusal);
    expect(attempts).toHaveLength(3);
    expect(source.invalidated).toBe(2);
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
    expect(source.invalidated).toBe(0);
  });
});
