import type { ConversationInfo, ConversationItem, QueryEvent } from '@ncp-hub/protocol';
import { describe, expect, it, vi } from 'vitest';
import { buildClientParts, type HubEventTargets, routeHubEvents } from '../../src/client/client-parts.js';
import type { ConnectionEvents } from '../../src/client/connection.js';
import { LocalDevice } from '../../src/client/local-device.js';
import { MemoryKeyStore } from '../../src/store/index.js';
import { TypedEmitter } from '../../src/typed-emitter.js';
import { hubErrorOf } from './fakes.js';

/** The connection as the routing sees it: the test emits the hub's events. */
class FakeConnection extends TypedEmitter<ConnectionEvents> {
  send<E extends keyof ConnectionEvents>(event: E, ...args: Parameters<ConnectionEvents[E]>): void {
    this.emit(event, ...args);
  }
}

const officer = { agency: 'PL-KGP', officer: 'b' };

/** The parts the events go to, recording what they are asked to do; the queue runs each task at once. */
function targets() {
  const calls: unknown[][] = [];
  const parts: HubEventTargets = {
    queue: { add: (task) => void task() },
    directory: {
      invalidate: (officers) => calls.push(['invalidate', officers]),
      invalidateAll: () => calls.push(['invalidateAll']),
    },
    conversations: {
      adopt: async (info) => {
        calls.push(['adopt', info]);
        return undefined;
      },
    },
    inbox: { process: async (item) => void calls.push(['process', item]) },
    queries: { onEvent: (event) => calls.push(['onEvent', event]) },
  };
  return { calls, parts };
}

describe('routeHubEvents', () => {
  it('drops the whole directory cache on a lost connection, and tells the application why', () => {
    const connection = new FakeConnection();
    const { calls, parts } = targets();
    const emitted: unknown[][] = [];
    routeHubEvents(connection, parts, (event, ...args) => emitted.push([event, ...args]));
    const expired = hubErrorOf('AUTH_TOKEN_EXPIRED');
    connection.send('disconnected', 'transport close');
    connection.send('disconnected', 'io server disconnect', expired);
    expect(calls).toEqual([['invalidateAll'], ['invalidateAll']]);
    expect(emitted).toEqual([
      ['disconnected', 'transport close', undefined],
      ['disconnected', 'io server disconnect', expired],
    ]);
  });

  it("forgets an announced officer's devices, and gives items, updates and query events to their parts", () => {
    const connection = new FakeConnection();
    const { calls, parts } = targets();
    const emitted: unknown[][] = [];
    routeHubEvents(connection, parts, (event, ...args) => emitted.push([event, ...args]));
    const item = { type: 'message', conv: 'c' } as unknown as ConversationItem;
    const conversation = { id: 'c' } as unknown as ConversationInfo;
    const event = { id: 'e1' } as unknown as QueryEvent;
    const failure = new Error('refused');
    connection.send('directory:updated', { officer, device: 'b2' });
    connection.send('conversation:item', item);
    connection.send('conversation:updated', { conversation } as never);
    connection.send('query:event', event);
    connection.send('error', failure);
    expect(calls).toEqual([
      ['invalidate', [officer]],
      ['process', item],
      ['adopt', conversation],
      ['onEvent', event],
    ]);
    expect(emitted).toEqual([['error', failure]]);
  });
});

describe('buildClientParts', () => {
  it("routes its connection's events: a loss empties the directory cache, an announcement forgets the officer", async () => {
    const store = new MemoryKeyStore();
    const device = await LocalDevice.load(store, 'device-1');
    const emitted: unknown[][] = [];
    const parts = buildClientParts(
      { url: 'http://127.0.0.1:9', token: 't', device: 'device-1', store },
      device,
      (event, ...args) => emitted.push([event, ...args]),
    );
    const invalidateAll = vi.spyOn(parts.directory, 'invalidateAll');
    const invalidate = vi.spyOn(parts.directory, 'invalidate');
    // The hub's events as the connection emits them (its emit is protected: only its socket calls it).
    const connection = parts.connection as unknown as FakeConnection;
    FakeConnection.prototype.send.call(connection, 'disconnected', 'ping timeout');
    FakeConnection.prototype.send.call(connection, 'directory:updated', { officer, device: 'b2' });
    expect(invalidateAll).toHaveBeenCalledTimes(1);
    expect(invalidate).toHaveBeenCalledWith([officer]);
    expect(emitted).toEqual([['disconnected', 'ping timeout', undefined]]);
  });
});
