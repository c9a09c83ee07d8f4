/**
 * The follow-up survives what production does to it: several workers at once, a worker that
 * dies in the middle of a job, a Redis restart. Nothing is lost, nothing is recorded twice.
 */
import { rm } from 'node:fs/promises';
import { EVENTS, type QueryEvent, type TimelineEntry } from '@ncp-hub/protocol';
import { findFreePort, startRedisServer } from '@ncp-hub/server';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { makeTempDir, startTestHub, type TestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record, waitForCount } from '../helpers/officers.js';
import { writeSecondsPolicy } from '../helpers/policies.js';
import { closeAllSockets, createSocket } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const folders: string[] = [];
const workers: WorkerProcess[] = [];
let run = 0;
let names: { ua: string; pl: string };

beforeEach(() => {
  run += 1;
  names = { ua: `ua.fault.${run}`, pl: `pl.fault.${run}` };
});
afterEach(async () => {
  await closeAllClients();
  closeAllSockets();
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

/** The environment of a worker process serving `hub`. */
function workerEnv(hub: TestHub, env: Record<string, string>) {
  return {
    REDIS_URL: hub.hub.config.redisUrl as string,
    REDIS_PREFIX: hub.redisPrefix,
    TRUST_REGISTRY: hub.registryDir,
    DATA_DIR: hub.dataDir,
    ...env,
  };
}

async function openQuery(hub: TestHub) {
  await connectDevice(hub.url, hub.agencies['NCB-UA'], `ncb.fault.${run}`, { roles: ['ncb'] });
  const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.ua);
  await connectDevice(hub.url, hub.agencies['PL-KGP'], names.pl);
  const { query } = await ua.openQuery({
    counterpart: { agency: 'PL-KGP', officer: names.pl },
    caseReference: `FAULT-${run}`,
    ground: 'THREAT_TO_LIFE',
    statement: 'Hostage situation: the kidnappers use a Polish number.',
    question: 'Who holds +48 600 000 000?',
  });
  return { ua, query };
}

const count = (timeline: TimelineEntry[], event: TimelineEntry['event']) =>
  timeline.filter((e) => e.event === event).length;

describe('follow-up workers', () => {
  it('fire each reminder once with two workers running (one in the hub, one a process of its own)', async () => {
    const POLICY_FILE = await policy({
      deadline: '5s',
      reminders: ['4s', '3s', '2s'],
      ack: '1h',
      resend: '1h',
      escalation: '1h',
    });
    const hub = await startTestHub({ POLICY_FILE });
    try {
      workers.push(await startWorkerProcess(workerEnv(hub, { POLICY_FILE })));
      await waitFor(() => workers[0]?.output().includes('follow-up worker started'));
      // A socket of the requesting officer's device that counts every event, with no deduplication.
      const { ua, query } = await openQuery(hub);
      const raw = createSocket(hub.url, {
        token: await tokenFor(hub.agencies['UA-NPU'], { officer: names.ua }),
        device: 'device-1',
      });
      const rawReminders: string[] = [];
      raw.on(EVENTS.queryEvent, (event: QueryEvent) => {
        if (event.type === 'reminder') rawReminders.push(event.id);
      });
      raw.connect();
      await waitFor(async () => count((await ua.getQuery(query.id)).timeline, 'OVERDUE') === 1, 15_000);
      const { timeline } = await ua.getQuery(query.id);
      expect(count(timeline, 'REMINDER')).toBe(3);
      expect(rawReminders.sort()).toEqual([0, 1, 2].map((i) => `reminder.${query.id}.${i}`).sort());
    } finally {
      await hub.stop();
    }
  });

  it.each(['crash-before-reminder', 'crash-after-reminder'] as const)(
    'lose and double nothing when a worker dies in the middle of a job (%s)',
    async (fault) => {
      const POLICY_FILE = await policy({
        deadline: '6s',
        reminders: ['5s'],
        ack: '1h',
        resend: '1h',
        escalation: '1h',
      });
      const hub = await startTestHub({ POLICY_FILE, WORKERS: 'off' });
      try {
        const crashing = await startWorkerProcess(
          workerEnv(hub, { POLICY_FILE, FOLLOWUP_FAULT: fault, FOLLOWUP_LOCK_MS: '2000' }),
        );
        workers.push(crashing);
        await waitFor(() => crashing.output().includes('follow-up worker started'));
        const { ua, query } = await openQuery(hub);
        const reminders = record(ua, 'query');
        expect(await crashing.exited).toBe(86);
        const before = count((await ua.getQuery(query.id)).timeline, 'REMINDER');
        expect(before).toBe(fault === 'crash-before-reminder' ? 0 : 1);

        // Another worker takes the stalled job over once its lock expires.
        const healthy = await startWorkerProcess(workerEnv(hub, { POLICY_FILE, FOLLOWUP_LOCK_MS: '2000' }));
        workers.push(healthy);
        await waitFor(async () => count((await ua.getQuery(query.id)).timeline, 'OVERDUE') === 1, 20_000);
        const { timeline } = await ua.getQuery(query.id);
        expect(count(timeline, 'REMINDER')).toBe(1);
        expect(count(timeline, 'NCB_NOTIFIED')).toBe(1);
        await waitForCount(reminders, 1);
        expect(reminders.filter((e) => e.type === 'reminder')).toHaveLength(1);
      } finally {
        await hub.stop();
      }
    },
    40_000,
  );
});

describe('a Redis restart', () => {
  it('loses no follow-up: jobs and query state come back from the AOF', async () => {
    const dir = await makeTempDir();
    folders.push(dir);
    const port = await findFreePort();
    let redis = await startRedisServer({ dir, port, password: false, appendOnly: true });
    const POLICY_FILE = await policy({ deadline: '5s', reminders: ['2s'], ack: '1h', resend: '1h', escalation: '1h' });
    const hub = await startTestHub({ POLICY_FILE, REDIS_URL: redis.url });
    try {
      const { ua, query } = await openQuery(hub);
      await new Promise((resolve) => setTimeout(resolve, 1200)); // > appendfsync everysec
      await redis.stop();
      redis = await startRedisServer({ dir, port, password: false, appendOnly: true });
      await waitFor(async () => count((await ua.getQuery(query.id)).timeline, 'OVERDUE') === 1, 20_000);
      const { query: after, timeline } = await ua.getQuery(query.id);
      expect(after.formalRequest.state).toBe('OVERDUE');
      expect(count(timeline, 'OPENED')).toBe(1);
      expect(count(timeline, 'REMINDER')).toBe(1);
    } finally {
      await closeAllClients();
      await hub.stop();
      await redis.stop();
    }
  }, 40_000);
});
