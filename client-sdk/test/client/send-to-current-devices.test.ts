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

const addresses = (recipients: EnvelopeRecipient[]) => recipients.map((r) => r.address);

describe('sendToCurrentDevices', () => {
  it('sends once when the hub accepts', async () => {
    const source = directory(['PL-KGP/b/1']);
    const attempts: string[][] = [];
    const result = await sendToCurrentDevices({
      members,
      exclude: 'UA-NPU/a/1',
      directory: source,
      attempt: async (recipients) => {
        attempts.push(addresses(recipients));
        return 'stored';
      },
    });
    expect(result).toBe('stored');
    expect(attempts).toEqual([['PL-KGP/b/1']]);
    expect(source.invalidated).toBe(0);
  });

  it('on RECIPIENTS_CHANGED looks the members up again and sends to the new devices', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/1', 'PL-KGP/b/2']);
    const attempts: string[][] = [];
    const result = await sendToCurrentDevices({
      members,
      exclude: 'UA-NPU/a/1',
      directory: source,
      attempt: async (recipients) => {
        attempts.push(addresses(recipients));
        if (recipients.length < 2) throw hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/2']);
        return 'stored';
      },
    });
    expect(result).toBe('stored');
    expect(attempts).toEqual([['PL-KGP/b/1'], ['PL-KGP/b/1', 'PL-KGP/b/2']]);
    expect(source.invalidated).toBe(1);
  });

  it('gives up after maxResends and rethrows the hub error', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/2'], ['PL-KGP/b/3'], ['PL-KGP/b/4']);
    let attempts = 0;
    const refusal = hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/9']);
    await expect(
      sendToCurrentDevices({
        members,
        exclude: 'UA-NPU/a/1',
        directory: source,
        attempt: async () => {
          attempts += 1;
          throw refusal;
        },
      }),
    ).rejects.toBe(refusal);
    expect(attempts).toBe(3);
    expect(source.invalidated).toBe(2);
  });

  it('does not send the same recipients again: looking again changed nothing', async () => {
    const source = directory(['PL-KGP/b/1']);
    let attempts = 0;
    await expect(
      sendToCurrentDevices({
        members,
        exclude: 'UA-NPU/a/1',
        directory: source,
        attempt: async () => {
          attempts += 1;
          throw hubErrorOf('RECIPIENTS_CHANGED', ['PL-KGP/b/unverifiable']);
        },
      }),
    ).rejects.toMatchObject({ code: 'RECIPIENTS_CHANGED', missing: ['PL-KGP/b/unverifiable'] });
    expect(attempts).toBe(1);
  });

  it('rethrows any other error at once', async () => {
    const source = directory(['PL-KGP/b/1'], ['PL-KGP/b/2']);
    for (const error of [hubErrorOf('RATE_LIMITED'), hubErrorOf('REQUEST_TIMEOUT'), new TypeError('bug')]) {
      let attempts = 0;
      await expect(
        sendToCurrentDevices({
          members,
          exclude: 'UA-NPU/a/1',
          directory: source,
          attempt: async () => {
            attempts += 1;
            throw error;
          },
        }),
      ).rejects.toBe(error);
      expect(attempts).toBe(1);
    }
    expect(source.invalidated).toBe(0);
  });
});
