import { EVENTS, type HubErrorBody } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signRaw, tokenFor } from '../helpers/agencies.js';
import { startTestHub, type TestHub } from '../helpers/hub.js';
import { type ClientSocket, closeAllSockets, connectOfficer } from '../helpers/sockets.js';

let testHub: TestHub;

beforeAll(async () => {
  // No clock tolerance, so that a token expiring in two seconds ends the session then.
  testHub = await startTestHub({ CLOCK_TOLERANCE_SECONDS: '0' });
});
afterEach(() => closeAllSockets());
afterAll(() => testHub?.stop());

function emitRaw(socket: ClientSocket, event: string, ...args: unknown[]): Promise<unknown> {
  return (socket as unknown as { emitWithAck: (e: string, ...a: unknown[]) => Promise<unknown> }).emitWithAck(
    event,
    ...args,
  );
}

describe('a connected session', () => {
  it('is told and disconnected when its token expires', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await signRaw(testHub.agencies['UA-NPU'], { iat: now, exp: now + 2 });
    const { socket } = await connectOfficer(testHub.url, token);
    const expired = new Promise<HubErrorBody>((resolve) => socket.once(EVENTS.sessionExpired, resolve));
    const disconnected = new Promise<string>((resolve) => socket.once('disconnect', resolve));
    expect(await expired).toEqual({ code: 'AUTH_TOKEN_EXPIRED', message: expect.any(String) });
    expect(await disconnected).toBe('io server disconnect');
    expect(Date.now()).toBeGreaterThanOrEqual((now + 2) * 1000 - 1000);
  });

  it('answers an unknown event with UNKNOWN_EVENT and stays connected', async () => {
    const { socket } = await connectOfficer(testHub.url, await tokenFor(testHub.agencies['PL-KGP']));
    expect(await emitRaw(socket, 'no:such-event', { x: 1 })).toEqual({
      ok: false,
      error: { code: 'UNKNOWN_EVENT', message: expect.any(String) },
    });
    expect(socket.connected).toBe(true);
    expect(await socket.emitWithAck(EVENTS.sessionWhoami, {})).toMatchObject({ ok: true });
  });

  it.each([
    ['a string', 'hello'],
    ['a number', 42],
    ['unknown fields', { admin: true }],
    ['an array', [1, 2]],
  ])('answers a payload of %s with BAD_REQUEST and stays connected', async (_name, payload) => {
    const { socket } = await connectOfficer(testHub.url, await tokenFor(testHub.agencies['NCB-UA']));
    expect(await emitRaw(socket, EVENTS.sessionWhoami, payload)).toEqual({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining(EVENTS.sessionWhoami) },
    });
    expect(await socket.emitWithAck(EVENTS.sessionWhoami, {})).toMatchObject({ ok: true });
  });

  it('survives an event without an ack callback', async () => {
    const { socket } = await connectOfficer(testHub.url, await tokenFor(testHub.agencies['UA-PGO']));
    (socket as unknown as { emit: (e: string, ...a: unknown[]) => void }).emit(EVENTS.sessionWhoami, {});
    (socket as unknown as { emit: (e: string, ...a: unknown[]) => void }).emit('no:such-event');
    expect(await socket.emitWithAck(EVENTS.sessionWhoami, {})).toMatchObject({ ok: true });
  });
});
