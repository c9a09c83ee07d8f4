/**
 * Follow-up steps that ran while their people were away (issue 9, item 12): a step missed while
 * no worker ran is run late when one starts, and its escalation or reminder reaches no one
 * connected. The hub pushes the escalations and reminders still standing on every connection
 * (PROTOCOL §6.6, §6.7), and the SDK delivers each event id to the application once per
 * device, across reconnections and restarts (it keeps the ids in its key store). A real hub,
 * a real worker process, real sockets and a real Redis.
 */
import { rm } from 'node:fs/promises';
import { type KeyStore, MemoryKeyStore } from '@ncp-hub/client-sdk';
import { EVENTS, type QueryEvent } from '@ncp-hub/protocol';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, recorded, waitForCount } from '../helpers/officers.js';
import { writeSecondsPolicy } from '../helpers/policies.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const folders: string[] = [];
const workers: WorkerProcess[] = [];
let run = 0;
let names: { ua: string; pl: string; supervisor: string };

beforeEach(() => {
  run += 1;
  names = { ua: `ua.missed.${run}`, pl: `pl.missed.${run}`, supervisor: `ua.sup.missed.${run}` };
});
afterEach(async () => {
  await closeAllClients();
  await Promise.all(workers.splice(0).map((worker) => worker.stop()));
});
afterAll(async () => {
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

async function policy(times: Parameters<typeof writeSecondsPolicy>[1]): Promise<string> {
  const dir = await makeTempDir();
  folders.push(dir);
  return writeSecondsPolicy(dir, times);
}

/** Starts a worker process on `hub`'s Redis, as `npm run worker` does, and waits until it runs. */
async function startWorker(hub: TestHub, POLICY_FILE: string): Promise<void> {
  const worker = await startWorkerProcess({
    REDIS_URL: hub.hub.config.redisUrl as string,
    REDIS_PREFIX: hub.redisPrefix,
    TRUST_REGISTRY: hub.registryDir,
    DATA_DIR: hub.dataDir,
    POLICY_FILE,
  });
  workers.push(worker);
  await waitFor(() => worker.output().includes('follow-up worker started'), 15_000);
}

/** Every `query:event` the hub emits to a socket, as it emits it (observed on the hub's own sockets). */
function watchPushes(hub: TestHub): Array<{ socket: string; officer: string; id: string }> {
  const pushes: Array<{ socket: string; officer: string; id: string }> = [];
  hub.hub.io.on('connection', (socket) => {
    const { officer } = socket.data.connection.identity;
    socket.onAnyOutgoing((event: string, payload: QueryEvent) => {
      if (event === EVENTS.queryEvent) pushes.push({ socket: socket.id, officer, id: payload.id });
    });
  });
  return pushes;
}

const socketsOf = (hub: TestHub, officer: string) =>
  [...hub.hub.io.of('/').sockets.values()].filter((socket) => socket.data.connection.identity.officer === officer);

/**
 * Waits until the hub has pushed `id` on `connections` distinct connections of `officer`, then
 * sends a marker event after it on the officer's sockets and waits until the application has it:
 * whatever the SDK was to make of the push (deliver it or drop it) it has done by then, as it
 * handles the events of a socket in the order they come.
 */
async function afterPush(
  hub: TestHub,
  pushes: ReturnType<typeof watchPushes>,
  officer: string,
  id: string,
  connections: number,
  seen: QueryEvent[],
  template: QueryEvent,
): Promise<void> {
  await waitFor(
    () => new Set(pushes.filter((p) => p.officer === officer && p.id === id).map((p) => p.socket)).size >= connections,
    15_000,
  );
  const marker = `marker.${officer}.${connections}`;
  for (const socket of socketsOf(hub, officer)) socket.emit(EVENTS.queryEvent, { ...template, id: marker });
  await waitFor(() => seen.some((event) => event.id === marker), 15_000);
}

/** The transport of every socket of `officer` drops (not a decision of the hub): socket.io reconnects. */
async function dropConnection(hub: TestHub, officer: string, ready: unknown[]): Promise<void> {
  const before = ready.length;
  for (const socket of socketsOf(hub, officer)) socket.conn.close();
  await waitForCount(ready, before + 1, 15_000);
}

async function openQuery(hub: TestHub, requesterStore: KeyStore) {
  const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.ua, { store: requesterStore });
  const pl = await connectDevice(hub.url, hub.agencies['PL-KGP'], names.pl);
  const { query } = await ua.openQuery({
    counterpart: { agency: 'PL-KGP', officer: names.pl },
    caseReference: `MISSED-${run}`,
    ground: 'THREAT_TO_LIFE',
    statement: 'Hostage situation: the kidnappers use a Polish number.',
    question: 'Who holds +48 600 000 000?',
  });
  return { ua, pl, query };
}

const copiesOf = (events: QueryEvent[], id: string) => events.filter((event) => event.id === id).length;

describe('follow-up steps missed while their people were away', () => {
  it('push an ACK_OVERDUE escalation run late to a supervisor who connects later, once per device', async () => {
    const POLICY_FILE = await policy({ deadline: '1h', reminders: ['30m'], ack: '2s', resend: '1h', escalation: '1h' });
    const hub = await startTestHub({ POLICY_FILE, WORKERS: 'off' });
    try {
      const pushes = watchPushes(hub);
      const { pl, query } = await openQuery(hub, new MemoryKeyStore());
      // The acknowledgement deadline passes while no worker runs and no supervisor is connected.
      await waitFor(() => Date.now() > query.ncb.dueAt + 200, 10_000);
      expect((await pl.getQuery(query.id)).query.ncb.state).toBe('NOTIFIED');
      await startWorker(hub, POLICY_FILE);
      await waitFor(async () => (await pl.getQuery(query.id)).query.ncb.state === 'ACK_OVERDUE', 20_000);

      const id = `escalation.ncb.${query.id}`;
      const store = new MemoryKeyStore();
      const supervisor = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.supervisor, {
        roles: ['supervisor'],
        store,
      });
      const seen = recorded(supervisor, 'query');
      await waitFor(() => seen.some((event) => event.id === id), 15_000);
      const [escalation] = seen.filter((event) => event.id === id);
      expect(escalation).toMatchObject({
        type: 'escalation',
        query: { id: query.id, ncb: { state: 'ACK_OVERDUE' } },
        entry: { event: 'ESCALATED', detail: { reason: 'ACK_OVERDUE' } },
      });
      // The entry is the one the timeline recorded.
      const { timeline } = await pl.getQuery(query.id);
      expect(timeline).toContainEqual(escalation?.entry);

      // Reconnected, the device is pushed the escalation again (it still stands), and drops it.
      await dropConnection(hub, names.supervisor, record(supervisor, 'ready'));
      await afterPush(hub, pushes, names.supervisor, id, 2, seen, escalation as QueryEvent);
      expect(copiesOf(seen, id)).toBe(1);

      // Restarted on the same key store, it drops it too.
      await supervisor.close();
      const restarted = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.supervisor, {
        roles: ['supervisor'],
        store,
      });
      const seenAfterRestart = recorded(restarted, 'query');
      await afterPush(hub, pushes, names.supervisor, id, 3, seenAfterRestart, escalation as QueryEvent);
      expect(copiesOf(seenAfterRestart, id)).toBe(0);

      // Another device of the supervisor has not seen it: it gets it.
      const other = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.supervisor, {
        roles: ['supervisor'],
        device: 'device-2',
      });
      await waitFor(() => recorded(other, 'query').some((event) => event.id === id), 15_000);

      // Acknowledged, the escalation no longer stands: it is not pushed any more.
      const desk = await connectDevice(hub.url, hub.agencies['NCB-UA'], `ncb.missed.${run}`, { roles: ['ncb'] });
      await desk.acknowledgeQuery(query.id);
      const later = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.supervisor, {
        roles: ['supervisor'],
        device: 'device-3',
      });
      expect((await later.pendingQueries()).map((event) => event.id)).not.toContain(id);
    } finally {
      await closeAllClients();
      await hub.stop();
    }
  }, 90_000);

  it('push a reminder run late to the requesting officer who connects later, once per device', async () => {
    // The reminder is due 2 s after the opening, the deadline an hour after.
    const POLICY_FILE = await policy({
      deadline: '1h',
      reminders: ['3598s'],
      ack: '1h',
      resend: '1h',
      escalation: '1h',
    });
    const hub = await startTestHub({ POLICY_FILE, WORKERS: 'off' });
    try {
      const pushes = watchPushes(hub);
      const store = new MemoryKeyStore();
      const { ua, pl, query } = await openQuery(hub, store);
      await ua.close();
      // The reminder's time passes while no worker runs and the requesting officer is away.
      await waitFor(() => Date.now() > query.formalRequest.deadline - 3_598_000 + 200, 10_000);
      await startWorker(hub, POLICY_FILE);
      await waitFor(
        async () => (await pl.getQuery(query.id)).timeline.some((entry) => entry.event === 'REMINDER'),
        20_000,
      );

      const id = `reminder.${query.id}.0`;
      const back = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.ua, { store });
      const seen = recorded(back, 'query');
      await waitFor(() => seen.some((event) => event.id === id), 15_000);
      expect(seen.find((event) => event.id === id)).toMatchObject({
        type: 'reminder',
        query: { id: query.id, formalRequest: { state: 'AWAITING' } },
        entry: { event: 'REMINDER', detail: { index: 0 } },
      });

      await dropConnection(hub, names.ua, record(back, 'ready'));
      const template = seen.find((event) => event.id === id) as QueryEvent;
      await afterPush(hub, pushes, names.ua, id, 2, seen, template);
      expect(copiesOf(seen, id)).toBe(1);

      await back.close();
      const restarted = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.ua, { store });
      const seenAfterRestart = recorded(restarted, 'query');
      await afterPush(hub, pushes, names.ua, id, 3, seenAfterRestart, template);
      expect(copiesOf(seenAfterRestart, id)).toBe(0);

      // Filed, the reminder no longer stands.
      await restarted.registerFormalRequest(query.id, {
        reference: 'LR/12',
        instrument: 'LETTERS_ROGATORY',
        centralAuthority: 'UA-PGO',
        date: '2026-12-02',
      });
      expect((await restarted.pendingQueries()).map((event) => event.id)).not.toContain(id);
    } finally {
      await closeAllClients();
      await hub.stop();
    }
  }, 90_000);
});
