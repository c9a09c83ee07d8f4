/**
 * HubClient.connect() settles, whatever the hub does: it resolves once connected and synced,
 * or rejects with a code (HUB_UNREACHABLE, the hub's AUTH_* refusal); a connection lost later
 * is an event, requests meanwhile reject with NOT_CONNECTED, and a reconnection syncs again.
 * Real hub, real sockets, real Redis.
 */
import { HubClient, MemoryKeyStore } from '@ncp-hub/client-sdk';
import { issueDeviceAttestation } from '@ncp-hub/keys';
import { type ConversationBasis, EVENTS, type HubError } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { closedPort } from '../helpers/sockets.js';
import { startTamperingRelay } from '../helpers/tampering-relay.js';

const basis: ConversationBasis = {
  type: 'formal-request',
  reference: 'MLA/2026/9',
  caseReference: '12026100000000009',
};

let testHub: TestHub;
let run = 0;
let UA = { agency: 'UA-NPU', officer: '' };
let PL = { agency: 'PL-KGP', officer: '' };

beforeAll(async () => {
  testHub = await startTestHub();
});
beforeEach(() => {
  run += 1;
  UA = { agency: 'UA-NPU', officer: `ua.connect.${run}` };
  PL = { agency: 'PL-KGP', officer: `pl.connect.${run}` };
});
afterEach(() => closeAllClients());
afterAll(() => testHub?.stop());

/** The officer (`sub`) of a handshake's token. */
function officerOf(token: unknown): string | undefined {
  if (typeof token !== 'string') return undefined;
  return (JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub?: string }).sub;
}

const clients: HubClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

async function client(url: string, token: string | (() => Promise<string>), connectTimeoutMs?: number) {
  const created = await HubClient.create({
    url,
    token,
    device: 'device-1',
    store: new MemoryKeyStore(),
    ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    socket: { reconnectionDelay: 50, reconnectionDelayMax: 200 },
  });
  clients.push(created);
  return created;
}

describe('HubClient.connect()', () => {
  it('rejects with HUB_UNREACHABLE when nothing answers within connectTimeoutMs', async () => {
    const port = await closedPort();
    const unreachable = await client(`http://127.0.0.1:${port}`, () => tokenFor(testHub.agencies['UA-NPU']), 500);
    const started = Date.now();
    await expect(unreachable.connect()).rejects.toMatchObject({ name: 'ClientError', code: 'HUB_UNREACHABLE' });
    // The timeout is 500 ms; a generous bound for a loaded machine.
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("rejects with the hub's AUTH_* code when it refuses the token", async () => {
    const wrongAudience = await tokenFor(testHub.agencies['UA-NPU'], { audience: 'another-hub' });
    await expect((await client(testHub.url, wrongAudience)).connect()).rejects.toMatchObject({
      name: 'AuthError',
      code: 'AUTH_AUDIENCE_INVALID',
    });
    await expect((await client(testHub.url, 'not-a-token')).connect()).rejects.toMatchObject({
      code: 'AUTH_TOKEN_MALFORMED',
    });
  });

  it("rejects with the token function's own error", async () => {
    const failing = await client(testHub.url, async () => {
      throw new Error('the agency token service is down');
    });
    await expect(failing.connect()).rejects.toThrow('the agency token service is down');
  });

  it('rejects with NOT_CONNECTED when closed during the first sync, and emits no ready', async () => {
    const relay = await startTamperingRelay(testHub.url);
    try {
      const closing = await client(relay.url, () => tokenFor(testHub.agencies['UA-NPU'], { officer: UA.officer }));
      const ready = record(closing, 'ready');
      let closed: Promise<void> | undefined;
      relay.toHub = (event, args) => {
        // The first sync's first request: the welcome came, the sync has begun.
        if (event === EVENTS.conversationList) closed ??= closing.close();
        return args;
      };
      await expect(closing.connect()).rejects.toMatchObject({ name: 'ClientError', code: 'NOT_CONNECTED' });
      await closed;
      expect(ready).toEqual([]);
    } finally {
      await relay.close();
    }
  });

  it('reports NOT_CONNECTED, not DEVICE_REQUIRED, for what needs a connection before connecting', async () => {
    const early = await client(testHub.url, () => tokenFor(testHub.agencies['UA-NPU']));
    expect(() => early.device).toThrow(expect.objectContaining({ code: 'NOT_CONNECTED' }));
    await expect(early.conversations()).rejects.toMatchObject({ name: 'ClientError', code: 'NOT_CONNECTED' });
    await expect(early.pendingQueries()).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });
});

describe('a connected HubClient', () => {
  it('emits disconnected when the hub stops, and then rejects requests with NOT_CONNECTED', async () => {
    const hub = await startTestHub();
    try {
      await connectDevice(hub.url, hub.agencies['PL-KGP'], PL.officer);
      const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], UA.officer);
      const conversation = await ua.createConversation({ kind: 'direct', members: [PL], basis });
      const disconnected = record(ua, 'disconnected');
      await hub.stop();
      const [reason] = await waitForCount(disconnected, 1);
      expect(reason).toEqual(expect.any(String));
      await expect(ua.send(conversation.id, 'after the hub stopped')).rejects.toMatchObject({
        name: 'ClientError',
        code: 'NOT_CONNECTED',
      });
      await expect(ua.conversations()).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
      await expect(ua.getQuery('AAAAAAAAAAAAAAAAAAAAAA')).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    } finally {
      await closeAllClients();
      await hub.stop();
    }
  });

  it('is told why the hub ended its session; with a string token, which cannot be renewed, it stays disconnected', async () => {
    // No clock tolerance, so that a token expiring in two seconds ends the session then.
    const hub = await startTestHub({ CLOCK_TOLERANCE_SECONDS: '0' });
    try {
      const token = await tokenFor(hub.agencies['UA-NPU'], { officer: UA.officer, ttlSeconds: 2 });
      const expiring = await client(hub.url, token);
      const disconnected: Array<[string, HubError | undefined]> = [];
      expiring.on('disconnected', (reason, error) => disconnected.push([reason, error]));
      await expiring.connect();
      await waitForCount(disconnected, 1, 10_000);
      expect(disconnected).toEqual([
        ['io server disconnect', expect.objectContaining({ name: 'AuthError', code: 'AUTH_TOKEN_EXPIRED' })],
      ]);
      await expect(expiring.conversations()).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await hub.stop();
    }
  });

  it('tells the application when its attestation is about to expire, once', async () => {
    const ua = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], UA.officer, { unpublished: true });
    const expiring = record(ua, 'attestationExpiring');
    const { encryptionKey, signingKey } = ua.publicKeys();
    const attestation = await issueDeviceAttestation({
      agency: 'UA-NPU',
      officer: UA.officer,
      device: 'device-1',
      encryptionKey,
      signingKey,
      privateJwk: testHub.agencies['UA-NPU'].key.privateJwk,
      ttlSeconds: 3600, // less than the 24 hours' warning
    });
    const published = Math.floor(Date.now() / 1000);
    await ua.publishDevice(attestation);
    await ua.publishDevice(attestation);
    expect(expiring).toEqual([{ device: `UA-NPU/${UA.officer}/device-1`, expiresAt: expect.any(Number) }]);
    expect(expiring[0]?.expiresAt).toBeGreaterThanOrEqual(published + 3600);
    expect(expiring[0]?.expiresAt).toBeLessThanOrEqual(published + 3601);
  });

  it('comes back by itself after losing its connection: ready again, and what it missed synced once', async () => {
    const ua = await connectDevice(testHub.url, testHub.agencies['UA-NPU'], UA.officer);
    const pl = await connectDevice(testHub.url, testHub.agencies['PL-KGP'], PL.officer);
    const conversation = await ua.createConversation({ kind: 'direct', members: [PL], basis });
    const messages = record(pl, 'message');
    const disconnected = record(pl, 'disconnected');
    const ready = record(pl, 'ready');
    // The transport of the recipient's socket drops (not a hub decision): socket.io reconnects.
    for (const socket of testHub.hub.io.sockets.sockets.values()) {
      if (officerOf(socket.handshake.auth.token) === PL.officer) socket.conn.close();
    }
    const [reason] = await waitForCount(disconnected, 1);
    expect(reason).toBe('transport close');
    const sent = await ua.send(conversation.id, 'while you were away');
    await waitForCount(ready, 1);
    const [message] = await waitForCount(messages, 1);
    expect(message).toMatchObject({ id: sent.id, content: { text: 'while you were away' } });
    await pl.sync();
    expect(messages).toHaveLength(1);
  });
});
