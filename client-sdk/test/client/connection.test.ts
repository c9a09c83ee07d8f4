/**
 * The connection against a real Socket.IO server that plays the hub's part of the wire
 * protocol as each test scripts it (handshake, welcome, acks).
 */
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { afterEach, describe, expect, it } from 'vitest';
import { closedPort } from '../../../test/helpers/sockets.js';
import { waitFor } from '../../../test/helpers/wait-for.js';
import { Connection, type ConnectionOptions, RECONNECT_FAILED } from '../../src/client/connection.js';

const welcome = {
  protocol: 1,
  hubId: 'test-hub',
  identity: {
    agency: 'UA-NPU',
    agencyKind: 'police',
    country: 'UA',
    officer: 'a',
    roles: ['officer'],
    expiresAt: 0,
  },
  device: 'device-1',
};

interface ScriptedHub {
  url: string;
  io: Server;
  http: HttpServer;
  sockets: Socket[];
  tokens: unknown[];
}

const open: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

/** A Socket.IO server on a free port; `onConnection` scripts the hub's side of each socket. */
async function scriptedHub(
  onConnection: (socket: Socket) => void = () => {},
  refuse?: (auth: Record<string, unknown>) => { code: string; message: string } | undefined,
): Promise<ScriptedHub> {
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  const hub: ScriptedHub = { url: '', io, http, sockets: [], tokens: [] };
  io.use((socket, next) => {
    hub.tokens.push(socket.handshake.auth.token);
    const refusal = refuse?.(socket.handshake.auth);
    next(refusal ? Object.assign(new Error(refusal.message), { data: refusal }) : undefined);
  });
  io.on('connection', (socket) => {
    hub.sockets.push(socket);
    onConnection(socket);
    socket.emit('session:welcome', welcome);
  });
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  hub.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  open.push({ close: () => io.close() });
  return hub;
}

function connection(url: string, options: Partial<ConnectionOptions> = {}): Connection {
  const errors: unknown[] = [];
  const c = new Connection(
    {
      url,
      token: 'token-1',
      device: 'device-1',
      requestTimeoutMs: 2000,
      connectTimeoutMs: 2000,
      maxConcurrentRequests: 16,
      socket: { reconnectionDelay: 50, reconnectionDelayMax: 100 },
      ...options,
    },
    (error) => errors.push(error),
  );
  open.push(c);
  return c;
}

describe('Connection', () => {
  it('resolves open with the welcome, sending the token and the device', async () => {
    const hub = await scriptedHub();
    const c = connection(hub.url);
    expect(await c.open()).toEqual(welcome);
    expect(c.connected).toBe(true);
    expect(hub.tokens).toEqual(['token-1']);
  });

  it("answers a request with the hub's fields, and a refusal with the error of its family", async () => {
    const hub = await scriptedHub((socket) => {
      socket.on('directory:agencies', (_payload, ack) => ack({ ok: true, agencies: [] }));
      socket.on('message:send', (_payload, ack) =>
        ack({
          ok: false,
          error: { code: 'RECIPIENTS_CHANGED', message: 'a device is missing', missing: ['PL-KGP/b/2'] },
        }),
      );
      socket.on('receipt:send', (_payload, ack) =>
        ack({ ok: false, error: { code: 'RATE_LIMITED', message: 'slow down', retryAfter: 250 } }),
      );
    });
    const c = connection(hub.url);
    await c.open();
    expect(await c.request('directory:agencies', {})).toEqual({ ok: true, agencies: [] });
    await expect(c.request('message:send', { envelope: {} as never })).rejects.toMatchObject({
      name: 'ConversationError',
      code: 'RECIPIENTS_CHANGED',
      missing: ['PL-KGP/b/2'],
    });
    await expect(c.request('receipt:send', { receipt: {} as never })).rejects.toMatchObject({
      name: 'RequestError',
      code: 'RATE_LIMITED',
      retryAfter: 250,
    });
  });

  it('keeps at most maxConcurrentRequests waiting for the hub; the rest wait their turn and all are answered', async () => {
    let pending = 0;
    let most = 0;
    const held: Array<() => void> = [];
    const hub = await scriptedHub((socket) =>
      socket.on('directory:agencies', (_payload, ack) => {
        pending += 1;
        most = Math.max(most, pending);
        held.push(() => {
          pending -= 1;
          ack({ ok: true, agencies: [] });
        });
      }),
    );
    const c = connection(hub.url, { maxConcurrentRequests: 5 });
    await c.open();
    const answers = Array.from({ length: 40 }, () => c.request('directory:agencies', {}));
    let answered = 0;
    while (answered < 40) {
      await waitFor(() => held.length > 0, 2000, 1);
      expect(pending).toBeLessThanOrEqual(5);
      const release = held.shift() as () => void;
      release();
      answered += 1;
    }
    expect(await Promise.all(answers)).toHaveLength(40);
    expect(most).toBe(5);
  });

  it('rejects a request that gets no answer in time with REQUEST_TIMEOUT', async () => {
    const hub = await scriptedHub((socket) => socket.on('query:pending', () => {}));
    const c = connection(hub.url, { requestTimeoutMs: 100 });
    await c.open();
    await expect(c.request('query:pending', {})).rejects.toMatchObject({
      name: 'ClientError',
      code: 'REQUEST_TIMEOUT',
    });
  });

  it('rejects a request with NOT_CONNECTED before it is open, and sends nothing', async () => {
    const c = connection(`http://127.0.0.1:${await closedPort()}`);
    await expect(c.request('session:whoami', {})).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });

  it("rejects open with the hub's refusal, and tries no more", async () => {
    const hub = await scriptedHub(undefined, () => ({ code: 'AUTH_TOKEN_EXPIRED', message: 'the token has expired' }));
    const c = connection(hub.url);
    await expect(c.open()).rejects.toMatchObject({ name: 'AuthError', code: 'AUTH_TOKEN_EXPIRED' });
    // The client closes its transport: nothing is left that could try again.
    await waitFor(() => hub.io.engine.clientsCount === 0, 5000, 10);
    expect(hub.tokens).toHaveLength(1);
    expect(c.connected).toBe(false);
  });

  it('rejects open with HUB_UNREACHABLE when nothing answers within the timeout', async () => {
    const c = connection(`http://127.0.0.1:${await closedPort()}`, { connectTimeoutMs: 300 });
    const started = Date.now();
    await expect(c.open()).rejects.toMatchObject({ name: 'ClientError', code: 'HUB_UNREACHABLE' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(c.connected).toBe(false);
  });

  it('rejects open at once with HUB_UNREACHABLE when reconnection is off', async () => {
    const c = connection(`http://127.0.0.1:${await closedPort()}`, {
      connectTimeoutMs: 60_000,
      socket: { reconnection: false },
    });
    await expect(c.open()).rejects.toMatchObject({ code: 'HUB_UNREACHABLE' });
  });

  it("rejects open with the token function's failure", async () => {
    const hub = await scriptedHub();
    const c = connection(hub.url, {
      token: async () => {
        throw new Error('the agency token service is down');
      },
    });
    await expect(c.open()).rejects.toThrow('the agency token service is down');
  });

  it('rejects a pending open with NOT_CONNECTED when closed', async () => {
    const c = connection(`http://127.0.0.1:${await closedPort()}`, { connectTimeoutMs: 60_000 });
    const opening = c.open();
    c.close();
    await expect(opening).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
  });

  it('reports a lost connection, fails the request in flight with NOT_CONNECTED, and is welcomed again', async () => {
    let arrived: () => void = () => {};
    const atTheHub = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const hub = await scriptedHub((socket) => socket.on('query:pending', () => arrived()));
    const c = connection(hub.url);
    const reasons: Array<[string, unknown]> = [];
    const welcomes: unknown[] = [];
    c.on('disconnected', (reason, error) => reasons.push([reason, error]));
    c.on('session:welcome', (w) => welcomes.push(w));
    await c.open();
    const pending = c.request('query:pending', {});
    await atTheHub; // the request is in flight: sent, not answered
    hub.sockets[0]?.conn.close(); // the transport drops
    await expect(pending).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    await expect(c.request('query:pending', {})).rejects.toMatchObject({ code: 'NOT_CONNECTED' });
    expect(reasons).toEqual([['transport close', undefined]]);
    await waitFor(() => welcomes.length === 2, 5000, 10);
    expect(c.connected).toBe(true);
  });

  it('gives up, saying so with HUB_UNREACHABLE, once socket.io has used up its reconnection attempts', async () => {
    const hub = await scriptedHub();
    const c = connection(hub.url, {
      socket: { reconnectionAttempts: 2, reconnectionDelay: 10, reconnectionDelayMax: 20 },
    });
    const reasons: Array<[string, unknown]> = [];
    c.on('disconnected', (reason, error) => reasons.push([reason, error]));
    await c.open();
    await hub.io.close(); // the hub is gone for good
    await waitFor(() => reasons.length === 2, 5000, 10);
    expect(reasons).toEqual([
      ['transport close', undefined],
      [RECONNECT_FAILED, expect.objectContaining({ name: 'ClientError', code: 'HUB_UNREACHABLE' })],
    ]);
    expect(c.connected).toBe(false);
  });

  it('says why the hub ended a session, and opens a new one with a fresh token from the token function', async () => {
    const hub = await scriptedHub();
    let issued = 0;
    const c = connection(hub.url, { token: async () => `token-${++issued}` });
    const welcomes: unknown[] = [];
    const reasons: Array<[string, unknown]> = [];
    c.on('session:welcome', (w) => welcomes.push(w));
    c.on('disconnected', (reason, error) => reasons.push([reason, error]));
    await c.open();
    const [first] = hub.sockets;
    first?.emit('session:expired', { code: 'AUTH_TOKEN_EXPIRED', message: 'the token has expired' });
    first?.disconnect(true);
    await waitFor(() => welcomes.length === 2, 5000, 10);
    expect(hub.tokens).toEqual(['token-1', 'token-2']);
    expect(reasons).toEqual([
      ['io server disconnect', expect.objectContaining({ name: 'AuthError', code: 'AUTH_TOKEN_EXPIRED' })],
    ]);
  });

  it('says why the hub ended a session with a string token, which it cannot renew: it stays disconnected', async () => {
    const hub = await scriptedHub();
    const c = connection(hub.url);
    const reasons: Array<[string, unknown]> = [];
    c.on('disconnected', (reason, error) => reasons.push([reason, error]));
    await c.open();
    const [first] = hub.sockets;
    first?.emit('session:expired', { code: 'AUTH_KID_UNKNOWN', message: 'the key is no longer in the registry' });
    first?.disconnect(true);
    await waitFor(() => reasons.length === 1, 5000, 10);
    expect(reasons).toEqual([
      ['io server disconnect', expect.objectContaining({ name: 'AuthError', code: 'AUTH_KID_UNKNOWN' })],
    ]);
    expect(c.connected).toBe(false);
    expect(hub.tokens).toEqual(['token-1']);
  });

  it('forwards the hub events to its listeners', async () => {
    const hub = await scriptedHub();
    const c = connection(hub.url);
    const updates: unknown[] = [];
    c.on('directory:updated', (update) => updates.push(update));
    await c.open();
    hub.sockets[0]?.emit('directory:updated', { officer: { agency: 'PL-KGP', officer: 'b' }, device: 'b2' });
    await waitFor(() => updates.length > 0, 5000, 10);
    expect(updates).toEqual([{ officer: { agency: 'PL-KGP', officer: 'b' }, device: 'b2' }]);
  });
});
