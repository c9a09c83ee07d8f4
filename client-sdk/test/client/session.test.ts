import type { SessionWelcome } from '@ncp-hub/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait-for.js';
import type { ConnectionEvents } from '../../src/client/connection.js';
import type { LocalDevice } from '../../src/client/local-device.js';
import { Session } from '../../src/client/session.js';
import { TaskQueue } from '../../src/client/task-queue.js';
import { TypedEmitter } from '../../src/typed-emitter.js';
import { fakeAgency, hubErrorOf, testDevice } from './fakes.js';

/** The connection part as the session sees it: `open` is welcomed (or refused) as the test says. */
class FakeConnection extends TypedEmitter<ConnectionEvents> {
  private readonly welcome: SessionWelcome;
  refuseWith: unknown;
  closed = 0;
  constructor(welcome: SessionWelcome) {
    super();
    this.welcome = welcome;
  }
  async open(): Promise<SessionWelcome> {
    if (this.refuseWith) throw this.refuseWith;
    this.reconnected();
    return this.welcome;
  }
  close(): void {
    this.closed += 1;
  }
  /** The hub's welcome, as on every (re)connection. */
  reconnected(): void {
    this.emit('session:welcome', this.welcome);
  }
}

let device: LocalDevice;
let welcome: SessionWelcome;
beforeAll(async () => {
  const agency = await fakeAgency('UA-NPU');
  device = (await testDevice(agency, 'a')).device;
  welcome = { protocol: 1, hubId: 'hub', identity: device.identity, device: 'device-1' } as SessionWelcome;
});

function setUp(sync: () => Promise<void>) {
  const connection = new FakeConnection(welcome);
  const events: Array<[string, unknown]> = [];
  const stopped: string[] = [];
  const session = new Session({
    connection,
    device,
    inbox: {
      syncAll: sync,
      flush: async () => {
        stopped.push('flush');
      },
      stop: () => stopped.push('inbox'),
    },
    publication: { stop: () => stopped.push('publication') },
    queue: new TaskQueue(() => {}),
    emit: (event, ...args) => events.push([event, args[0]]),
  });
  return { connection, session, events, stopped };
}

describe('Session', () => {
  it('connects, syncs, emits ready, and resolves with the welcome', async () => {
    const order: string[] = [];
    const { session, events } = setUp(async () => {
      order.push('sync');
    });
    expect(await session.connect()).toBe(welcome);
    expect(order).toEqual(['sync']);
    expect(events).toEqual([['ready', welcome]]);
  });

  it("rejects with the connection's refusal", async () => {
    const { session, connection, events } = setUp(async () => {});
    connection.refuseWith = hubErrorOf('AUTH_TOKEN_EXPIRED');
    await expect(session.connect()).rejects.toMatchObject({ name: 'AuthError', code: 'AUTH_TOKEN_EXPIRED' });
    expect(events).toEqual([]);
  });

  it("rejects with the first sync's failure and closes the connection", async () => {
    const { session, connection, events } = setUp(async () => {
      throw hubErrorOf('REQUEST_TIMEOUT');
    });
    await expect(session.connect()).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
    expect(connection.closed).toBe(1);
    expect(events).toEqual([]);
  });

  it('syncs again and emits ready on each reconnection; a failure then is an error event', async () => {
    let syncs = 0;
    const { session, connection, events } = setUp(async () => {
      syncs += 1;
      if (syncs === 3) throw hubErrorOf('NOT_CONNECTED');
    });
    await session.connect();
    connection.reconnected();
    connection.reconnected();
    await waitFor(() => events.length === 3, 5000, 1);
    expect(syncs).toBe(3);
    expect(events.map(([event]) => event)).toEqual(['ready', 'ready', 'error']);
    expect(connection.closed).toBe(0);
  });

  it('rejects connect with NOT_CONNECTED, and emits no ready, when closed during the first sync', async () => {
    let started: () => void = () => {};
    const syncing = new Promise<void>((resolve) => {
      started = resolve;
    });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { session, connection, events, stopped } = setUp(async () => {
      started();
      await held;
    });
    const connecting = session.connect();
    await syncing;
    const closing = session.close();
    release();
    await expect(connecting).rejects.toMatchObject({ name: 'ClientError', code: 'NOT_CONNECTED' });
    await closing;
    expect(events).toEqual([]);
    expect(connection.closed).toBe(1);
    expect(stopped).toEqual(['publication', 'inbox', 'flush', 'inbox']);
  });
});
