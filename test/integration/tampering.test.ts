/**
 * A hub taken over (here: a relay between the SDK and the hub that rewrites what passes) can
 * neither read, forge, alter, replay, move, reorder nor silently drop messages, nor slip in a
 * member: each attempt is detected by the receiving SDK as the protocol specifies.
 */
import type { HubClient } from '@ncp-hub/client-sdk';
import { type ConversationBasis, type ConversationItem, EVENTS } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { startTamperingRelay, type TamperingRelay } from '../helpers/tampering-relay.js';

const basis: ConversationBasis = { type: 'formal-request', reference: 'LR/2026/7', caseReference: '42026000000000777' };

let testHub: TestHub;
let relay: TamperingRelay;
let run = 0;
let UA = { agency: 'UA-NPU', officer: '' };
let PL = { agency: 'PL-KGP', officer: '' };
let GHOST = { agency: 'PL-KGP', officer: '' };

beforeAll(async () => {
  testHub = await startTestHub();
});
beforeEach(async () => {
  run += 1;
  UA = { agency: 'UA-NPU', officer: `ua.sender.${run}` };
  PL = { agency: 'PL-KGP', officer: `pl.recipient.${run}` };
  GHOST = { agency: 'PL-KGP', officer: `pl.ghost.${run}` };
  relay = await startTamperingRelay(testHub.url);
});
afterEach(async () => {
  await closeAllClients();
  await relay.close();
});
afterAll(() => testHub?.stop());

/** The sender on the hub directly, the recipient behind the tampering relay. */
async function pair(options: { senderBehindRelay?: boolean } = {}) {
  const sender = await connectDevice(
    options.senderBehindRelay ? relay.url : testHub.url,
    testHub.agencies['UA-NPU'],
    UA.officer,
  );
  const recipient = await connectDevice(
    options.senderBehindRelay ? testHub.url : relay.url,
    testHub.agencies['PL-KGP'],
    PL.officer,
  );
  const conversation = await sender.createConversation({ kind: 'direct', members: [PL], basis });
  return { sender, recipient, conversation };
}

type MessageItem = Extract<ConversationItem, { type: 'message' }>;

/** Rewrites the messages (not receipts) the hub pushes to the recipient. */
function tamperMessages(rewrite: (item: MessageItem) => MessageItem | MessageItem[] | null): void {
  relay.toClient = (event, args) => {
    if (event !== EVENTS.conversationItem || (args[0] as ConversationItem).type !== 'message') return args;
    const result = rewrite(structuredClone(args[0] as MessageItem));
    if (result === null) return null;
    if (Array.isArray(result)) {
      for (const extra of result.slice(1)) setTimeout(() => relay.inject(event, extra), 20);
      return [result[0]];
    }
    return [result];
  };
}

function flipBit(base64url: string, index = 5): string {
  const bytes = Buffer.from(base64url, 'base64url');
  bytes[index % bytes.length] = (bytes[index % bytes.length] as number) ^ 0x01;
  return bytes.toString('base64url');
}

async function expectUndecryptable(recipient: HubClient, reason: string, act: () => Promise<unknown>) {
  const failures = record(recipient, 'undecryptable');
  const messages = record(recipient, 'message');
  await act();
  const [failure] = await waitForCount(failures, 1);
  expect(failure?.reason).toBe(reason);
  expect(messages).toEqual([]);
}

describe('the receiving SDK detects', () => {
  it('a flipped ciphertext bit', async () => {
    const { sender, recipient, conversation } = await pair();
    tamperMessages((item) => ({ ...item, envelope: { ...item.envelope, ct: flipBit(item.envelope.ct) } }));
    await expectUndecryptable(recipient, 'SIGNATURE_INVALID', () => sender.send(conversation.id, 'bit flip'));
  });

  it('a changed time in the header', async () => {
    const { sender, recipient, conversation } = await pair();
    tamperMessages((item) => {
      item.envelope.header.ts -= 3_600_000;
      return item;
    });
    await expectUndecryptable(recipient, 'SIGNATURE_INVALID', () => sender.send(conversation.id, 'when?'));
  });

  it('a changed sender in the header', async () => {
    const { sender, recipient, conversation } = await pair();
    // a device of the sender that was never attested
    tamperMessages((item) => {
      item.envelope.header.from = { ...item.envelope.header.from, device: 'device-2' };
      return item;
    });
    await expectUndecryptable(recipient, 'SENDER_UNKNOWN', () => sender.send(conversation.id, 'who?'));
  });

  it('a sender swapped for another member of the conversation', async () => {
    const { sender, recipient } = await pair();
    await connectDevice(testHub.url, testHub.agencies['PL-KGP'], GHOST.officer);
    const group = await sender.createConversation({ kind: 'group', members: [PL, GHOST], basis });
    tamperMessages((item) => {
      item.envelope.header.from = { agency: GHOST.agency, officer: GHOST.officer, device: 'device-1' };
      return item;
    });
    await expectUndecryptable(recipient, 'SIGNATURE_INVALID', () => sender.send(group.id, 'from someone else'));
  });

  it('a message replayed', async () => {
    const { sender, recipient, conversation } = await pair();
    const messages = record(recipient, 'message');
    const duplicates = record(recipient, 'duplicate');
    tamperMessages((item) => [item, item, item]);
    const { id } = await sender.send(conversation.id, 'only once, please');
    await waitForCount(duplicates, 2);
    expect(messages.map((m) => m.id)).toEqual([id]);
    expect(duplicates.every((d) => d.messageId === id)).toBe(true);
  });

  it('a message moved to another conversation', async () => {
    const { sender, recipient, conversation } = await pair();
    const other = await sender.createConversation({ kind: 'group', members: [PL], basis });
    tamperMessages((item) => ({ ...item, conv: item.conv === conversation.id ? other.id : conversation.id }));
    await expectUndecryptable(recipient, 'CONVERSATION_MISMATCH', () => sender.send(conversation.id, 'stay here'));
  });

  it('a message moved to another conversation with its header rewritten', async () => {
    const { sender, recipient, conversation } = await pair();
    const other = await sender.createConversation({ kind: 'group', members: [PL], basis });
    tamperMessages((item) => {
      item.conv = other.id;
      item.envelope.header.conv = other.id;
      return item;
    });
    await expectUndecryptable(recipient, 'SIGNATURE_INVALID', () => sender.send(conversation.id, 'stay here'));
  });

  it('two messages reordered', async () => {
    const { sender, recipient, conversation } = await pair();
    const messages = record(recipient, 'message');
    const gaps = record(recipient, 'gap');
    const reordered = record(recipient, 'reordered');
    await sender.send(conversation.id, 'first');
    await waitForCount(messages, 1);
    let held: MessageItem | undefined;
    tamperMessages((item) => {
      if (!held) {
        held = item;
        return null;
      }
      return [item, held];
    });
    await sender.send(conversation.id, 'second');
    await sender.send(conversation.id, 'third');
    await waitForCount(messages, 3);
    expect(messages.map((m) => m.content)).toEqual([
      { v: 1, type: 'text', text: 'first' },
      { v: 1, type: 'text', text: 'third' },
      { v: 1, type: 'text', text: 'second' },
    ]);
    expect(gaps).toMatchObject([{ expected: 2, received: 3 }]);
    expect(reordered).toMatchObject([{ seq: 2, expectedAfter: 3 }]);
  });

  it('a message dropped', async () => {
    const { sender, recipient, conversation } = await pair();
    const messages = record(recipient, 'message');
    const gaps = record(recipient, 'gap');
    await sender.send(conversation.id, 'first');
    await waitForCount(messages, 1);
    tamperMessages((item) => (item.envelope.header.seq === 2 ? null : item));
    await sender.send(conversation.id, 'second');
    await sender.send(conversation.id, 'third');
    await waitForCount(gaps, 1);
    expect(gaps[0]).toMatchObject({ from: { officer: UA.officer }, expected: 2, received: 3 });
    expect(messages.map((m) => m.seq)).toEqual([1, 3]);
  });

  it("a recipient's key swapped in the directory: the sender refuses that device", async () => {
    const { sender, conversation } = await pair({ senderBehindRelay: true });
    const rejected = record(sender, 'deviceRejected');
    relay.ackToClient = (event, answer) => {
      if (event !== EVENTS.directoryDevices) return answer;
      const devices = (answer as { devices: Record<string, string[]> }).devices;
      for (const [officer, attestations] of Object.entries(devices)) {
        if (!officer.endsWith(PL.officer)) continue;
        devices[officer] = attestations.map((jws) => {
          const [header, payload, signature] = jws.split('.') as [string, string, string];
          const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
          claims.enc = Buffer.alloc(32, 7).toString('base64url');
          return `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;
        });
      }
      return answer;
    };
    const sent: unknown[] = [];
    relay.toHub = (event, args) => {
      if (event === EVENTS.messageSend) sent.push(args[0]);
      return args;
    };
    await expect(sender.send(conversation.id, 'for the real recipient only')).rejects.toMatchObject({
      code: 'NOT_A_MEMBER',
    });
    expect(rejected).toMatchObject([{ officer: `PL-KGP/${PL.officer}`, reason: 'ATTESTATION_INVALID' }]);
    expect(sent).toEqual([]);
  });

  it('a ghost member the hub slips into the member list', async () => {
    const { sender, recipient, conversation } = await pair();
    await connectDevice(testHub.url, testHub.agencies['PL-KGP'], GHOST.officer);
    const mismatches = record(recipient, 'membershipMismatch');
    const ghost = `PL-KGP/${GHOST.officer}`;
    relay.ackToClient = (_event, answer) => {
      const conversations = answer as {
        conversations?: Array<{ members: string[] }>;
        conversation?: { members: string[] };
      };
      for (const info of [
        ...(conversations.conversations ?? []),
        ...(conversations.conversation ? [conversations.conversation] : []),
      ]) {
        info.members = [...info.members, ghost].sort();
      }
      return answer;
    };
    await recipient.conversations();
    const [mismatch] = await waitForCount(mismatches, 1);
    expect(mismatch).toEqual({ conversation: conversation.id, ghosts: [ghost], missing: [] });

    // The recipient's reply is encrypted to the verified members only: the ghost gets no key.
    const sent: Array<{ envelope: { header: { to: string[] } } }> = [];
    relay.toHub = (event, args) => {
      if (event === EVENTS.messageSend) sent.push(args[0] as (typeof sent)[number]);
      return args;
    };
    await recipient.send(conversation.id, 'not for the ghost');
    expect(sent[0]?.envelope.header.to).toEqual([`UA-NPU/${UA.officer}/device-1`]);
    void sender;
  });

  it('a forged membership record adding a ghost', async () => {
    const { sender, recipient, conversation } = await pair();
    const invalid = record(recipient, 'membershipInvalid');
    relay.ackToClient = (event, answer) => {
      if (event !== EVENTS.conversationList) return answer;
      const list = (
        answer as {
          conversations: Array<{
            id: string;
            members: string[];
            records: Array<{ record: Record<string, unknown>; sig: string }>;
          }>;
        }
      ).conversations;
      for (const info of list) {
        if (info.id !== conversation.id) continue;
        const first = info.records[0] as { record: Record<string, unknown>; sig: string };
        info.records.push({
          record: {
            ...first.record,
            op: 'add',
            seq: 2,
            prev: 'A'.repeat(86),
            member: GHOST,
            kind: undefined,
            basis: undefined,
            members: undefined,
          },
          sig: first.sig,
        });
        info.members.push(`PL-KGP/${GHOST.officer}`);
      }
      return answer;
    };
    await recipient.conversations();
    await waitForCount(invalid, 1);
    expect(invalid[0]).toMatchObject({ conversation: conversation.id });
    void sender;
  });
});

describe('a transient failure while receiving', () => {
  it('loses nothing: the items are not acknowledged, and the next sync delivers them once', async () => {
    const sender = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], UA.officer);
    const recipient = await connectDevice(relay.url, testHub.agencies['PL-KGP'], PL.officer, {
      directoryRefreshMs: 0,
      requestTimeoutMs: 300,
    });
    const conversation = await sender.createConversation({ kind: 'direct', members: [PL], basis });
    const messages = record(recipient, 'message');
    const errors = record(recipient, 'error');
    // The hub (here: the relay) stops answering directory look-ups: the recipient cannot verify the sender.
    relay.toHub = (event, args) => (event === EVENTS.directoryDevices ? null : args);
    await sender.send(conversation.id, 'first');
    await sender.send(conversation.id, 'second');
    await waitForCount(errors, 1, 5000);
    expect(messages).toEqual([]);

    relay.toHub = (_event, args) => args;
    await recipient.sync();
    await waitForCount(messages, 2);
    expect(messages.map((m) => m.content)).toEqual([
      { v: 1, type: 'text', text: 'first' },
      { v: 1, type: 'text', text: 'second' },
    ]);
  });
});

describe('agency keys', () => {
  /** A hub that swaps PL-KGP's keys for its own and serves an attestation it made for a fake device. */
  async function substituteAgencyKeys() {
    const { generateAgencyKey, issueDeviceAttestation } = await import('@ncp-hub/keys');
    const forger = await generateAgencyKey('EdDSA');
    const forgedDevice = await issueDeviceAttestation({
      agency: 'PL-KGP',
      officer: PL.officer,
      device: 'hub-made',
      encryptionKey: Buffer.alloc(32, 1).toString('base64url'),
      signingKey: Buffer.alloc(32, 2).toString('base64url'),
      privateJwk: forger.privateJwk,
    });
    relay.ackToClient = (event, answer) => {
      if (event === EVENTS.directoryAgencies) {
        for (const agency of (answer as { agencies: Array<{ id: string; jwks?: unknown }> }).agencies) {
          if (agency.id === 'PL-KGP') agency.jwks = { keys: [forger.publicJwk] };
        }
      }
      if (event === EVENTS.directoryDevices) {
        const devices = (answer as { devices: Record<string, string[]> }).devices;
        const address = `PL-KGP/${PL.officer}`;
        if (address in devices) devices[address] = [forgedDevice];
      }
      return answer;
    };
  }

  it('pinned by the application, defeat a hub that substitutes them', async () => {
    const recipient = await connectDevice(testHub.url, testHub.agencies['PL-KGP'], PL.officer);
    const sender = await connectDevice(relay.url, testHub.agencies['UA-NPU'], UA.officer, {
      pin: [testHub.agencies['UA-NPU'], testHub.agencies['PL-KGP']],
    });
    await substituteAgencyKeys();
    const rejected = record(sender, 'deviceRejected');
    await expect(sender.createConversation({ kind: 'direct', members: [PL], basis })).resolves.toBeDefined();
    const [conversation] = await sender.conversations();
    await expect(sender.send(conversation?.id as string, 'to the real device only')).rejects.toMatchObject({
      code: 'NOT_A_MEMBER',
    });
    expect(rejected).toMatchObject([
      { officer: `PL-KGP/${PL.officer}`, device: 'hub-made', reason: 'ATTESTATION_INVALID' },
    ]);
    void recipient;
  });

  it('trusted on first use, are reported when the hub substitutes them, and are not used', async () => {
    await connectDevice(testHub.url, testHub.agencies['PL-KGP'], PL.officer);
    const sender = await connectDevice(relay.url, testHub.agencies['UA-NPU'], UA.officer, { directoryRefreshMs: 0 });
    const conversation = await sender.createConversation({ kind: 'direct', members: [PL], basis });
    await sender.send(conversation.id, 'first contact: keys as the hub gives them');
    const changed = record(sender, 'agencyKeysChanged');
    const rejected = record(sender, 'deviceRejected');
    await substituteAgencyKeys();
    await expect(sender.send(conversation.id, 'after the swap')).rejects.toMatchObject({ code: 'NOT_A_MEMBER' });
    expect(changed).toEqual([
      { agency: 'PL-KGP', added: [expect.any(String)], removed: [testHub.agencies['PL-KGP'].key.kid] },
    ]);
    // The key the hub no longer lists is no longer believed either (PROTOCOL 9.0): the real
    // device is reported too, before the hub's own is refused.
    expect(rejected).toMatchObject([
      { device: 'device-1', reason: 'KEY_REVOKED' },
      { device: 'hub-made', reason: 'ATTESTATION_INVALID' },
    ]);
  });
});
