/**
 * A follow-up worker SIGKILLed while follow-up jobs are due (issue 9, fault suite). The
 * deterministic crash points of one job (just before and just after a reminder is recorded) are
 * in followup-faults.test.ts; here the worker process gets a real SIGKILL at whatever it is doing
 * once the first reminder has reached a client and while a webhook job is in the middle of its
 * request (the NCB's system answers none before the kill), with the steps of several queries
 * due around it (NCB notification and webhook, reminders, the acknowledgement deadline, the
 * formal-request deadline). A new worker takes the stalled jobs over. Checked over what each party saw: each
 * step's timeline entry and audit entry are there once, each event reaches each recipient
 * application (the SDK's `query` event) once, and the NCB's system accepted each webhook once
 * by its Idempotency-Key. What arrived more than once on the wire (a job run again re-sends its
 * event, or its webhook, with the same id) is printed with the figures.
 */
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readRegistryEntry, writeRegistryEntry } from '@ncp-hub/keys';
import { EVENTS, type QueryEvent, type TimelineEntry } from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import { makeTempDir, startTestHub } from '../helpers/hub.js';
import { closeAllClients, connectDevice, record } from '../helpers/officers.js';
import { writeSecondsPolicy } from '../helpers/policies.js';
import { closeAllSockets, createSocket } from '../helpers/sockets.js';
import { waitFor } from '../helpers/wait-for.js';
import { startWorkerProcess, type WorkerProcess } from '../helpers/worker-process.js';

const QUERIES = 6;
const folders: string[] = [];
const workers: WorkerProcess[] = [];
afterAll(async () => {
  await closeAllClients();
  closeAllSockets();
  for (const worker of workers) {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }
  for (const dir of folders) await rm(dir, { recursive: true, force: true });
});

/** How many times each value occurs, for the values that occur other than once. */
function notOnce(values: string[], expected: string[]): Record<string, number> {
  const counts = new Map<string, number>(expected.map((v) => [v, 0]));
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return Object.fromEntries([...counts].filter(([, n]) => n !== 1));
}

/** A step's name, with what tells apart the steps of one event: `REMINDER.1`, `ESCALATED.ACK_OVERDUE` ... */
function stepName(event: string, detail: Record<string, unknown> | undefined): string {
  if (event === 'NCB_NOTIFIED' && detail?.channel === 'webhook') return 'NCB_NOTIFIED.webhook';
  if (event === 'ESCALATED') return `ESCALATED.${String(detail?.reason)}`;
  if (event === 'REMINDER') return `REMINDER.${String(detail?.index)}`;
  return event;
}

describe('a follow-up worker SIGKILLed while jobs are due', () => {
  it('has every step fire once: timeline, audit, events to the applications, webhooks', async () => {
    const dir = await makeTempDir();
    folders.push(dir);
    const POLICY_FILE = await writeSecondsPolicy(dir, {
      deadline: '7s',
      reminders: ['5s', '3s'],
      ack: '3s',
      resend: '1h',
      escalation: '1h',
    });
    // The NCB's own system: records every POST's Idempotency-Key. Until the worker is killed it
    // answers none, so that the webhook jobs are in the middle of their request when it dies.
    const webhookKeys: string[] = [];
    const held = new Set<() => void>();
    let holding = true;
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        webhookKeys.push(String(req.headers['idempotency-key']));
        const accept = () => {
          res.statusCode = 202;
          res.end();
        };
        if (!holding) return accept();
        // Held until the kill; gone once the worker gives up on it (its 10 s timeout) or dies.
        held.add(accept);
        res.on('close', () => held.delete(accept));
      });
    });
    receiver.listen(0, '127.0.0.1');
    await once(receiver, 'listening');
    const hub = await startTestHub({ POLICY_FILE, WORKERS: 'off' });
    const redis = new Redis(hub.hub.config.redisUrl as string);
    try {
      const entry = await readRegistryEntry(hub.registryDir, 'NCB-UA');
      await writeRegistryEntry(hub.registryDir, {
        ...entry,
        webhook: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/notifications`,
      });
      expect(await hub.hub.registry.reload()).toBe(true);
      const workerEnv = {
        REDIS_URL: hub.hub.config.redisUrl as string,
        REDIS_PREFIX: hub.redisPrefix,
        TRUST_REGISTRY: hub.registryDir,
        DATA_DIR: hub.dataDir,
        POLICY_FILE,
        FOLLOWUP_LOCK_MS: '2000',
      };
      const first = await startWorkerProcess(workerEnv);
      workers.push(first);
      await waitFor(() => first.output().includes('follow-up worker started'));

      const names = { ua: 'ua.workerkill', pl: 'pl.workerkill', ncb: 'ncb.workerkill' };
      const ncb = await connectDevice(hub.url, hub.agencies['NCB-UA'], names.ncb, { roles: ['ncb'] });
      const ua = await connectDevice(hub.url, hub.agencies['UA-NPU'], names.ua);
      await connectDevice(hub.url, hub.agencies['PL-KGP'], names.pl);
      const uaEvents = record(ua, 'query');
      const ncbEvents = record(ncb, 'query');
      // Sockets of the same devices that count every event pushed, with no deduplication.
      const wire = { ua: [] as string[], ncb: [] as string[] };
      for (const [who, agency, officer] of [
        ['ua', 'UA-NPU', names.ua],
        ['ncb', 'NCB-UA', names.ncb],
      ] as const) {
        const raw = createSocket(hub.url, {
          token: await tokenFor(hub.agencies[agency], { officer, ...(who === 'ncb' ? { roles: ['ncb'] } : {}) }),
          device: 'device-1',
        });
        raw.on(EVENTS.queryEvent, (event: QueryEvent) => wire[who].push(event.id));
        raw.connect();
        await waitFor(() => raw.connected);
      }

      const ids: string[] = [];
      for (let i = 0; i < QUERIES; i += 1) {
        const { query } = await ua.openQuery({
          counterpart: { agency: 'PL-KGP', officer: names.pl },
          caseReference: `WORKER-KILL-${i}`,
          ground: 'THREAT_TO_LIFE',
          statement: 'Hostage situation: the kidnappers use a Polish number.',
          question: `Who holds +48 600 000 00${i}?`,
        });
        ids.push(query.id);
      }

      // The kill: a webhook in flight (its job in the middle of its request), and the first
      // reminder has reached the requesting officer's application.
      await waitFor(() => held.size > 0 && uaEvents.some((e) => e.type === 'reminder'), 20_000, 5).catch(
        (error: Error) => {
          throw new Error(
            `${error.message}: webhooks ${webhookKeys.length} (${held.size} held), reminders ${uaEvents.filter((e) => e.type === 'reminder').length}\n${first.output().slice(-3000)}`,
          );
        },
      );
      const webhooksInFlightAtKill = held.size;
      first.child.kill('SIGKILL');
      await first.exited;
      holding = false;
      for (const accept of held) accept();
      const bull = `${hub.redisPrefix}{bull}:followup`;
      const activeAtKill = await redis.llen(`${bull}:active`);
      const overdueAtKill = (
        await Promise.all(ids.map(async (id) => (await ua.getQuery(id)).query.formalRequest.state))
      ).filter((state) => state === 'OVERDUE').length;
      // Jobs were running (the webhooks in flight at least) and steps still to run when the worker died.
      expect(activeAtKill).toBeGreaterThanOrEqual(1);
      expect(overdueAtKill).toBeLessThan(QUERIES);

      const second = await startWorkerProcess(workerEnv);
      workers.push(second);
      // Done: every query overdue, no job running or waiting, and only two of each query
      // delayed, an hour away (the NCB notification's resend and the next escalation).
      const leftFor = (id: string) => [`ncb-notify.${id}.1`, `overdue.${id}.1`];
      await waitFor(
        async () =>
          (await Promise.all(ids.map(async (id) => (await ua.getQuery(id)).query.formalRequest.state))).every(
            (state) => state === 'OVERDUE',
          ) &&
          (await redis.llen(`${bull}:active`)) === 0 &&
          (await redis.llen(`${bull}:wait`)) === 0 &&
          JSON.stringify((await redis.zrange(`${bull}:delayed`, '0', '-1')).sort()) ===
            JSON.stringify(ids.flatMap(leftFor).sort()),
        40_000,
        100,
      );

      const timelines = await Promise.all(ids.map(async (id) => (await ua.getQuery(id)).timeline));
      const steps = (timeline: TimelineEntry[]) => timeline.map((e) => stepName(e.event, e.detail));
      const expectedSteps = [
        'OPENED',
        'NCB_NOTIFIED',
        'NCB_NOTIFIED.webhook',
        'REMINDER.0',
        'REMINDER.1',
        'ACK_OVERDUE',
        'ESCALATED.ACK_OVERDUE',
        'OVERDUE',
        'ESCALATED.FORMAL_REQUEST_OVERDUE',
      ];
      // The audit chain and what is still to be chained, read at once: the stream keeps its
      // entries up to the last chained one (the head's cursor), which are in the chain already.
      const [chain, head, stream] = (
        (await redis
          .multi()
          .lrange(`${hub.redisPrefix}audit:chain`, 0, -1)
          .hget(`${hub.redisPrefix}audit:head`, 'cursor')
          .xrange(`${hub.redisPrefix}audit:stream`, '-', '+')
          .exec()) ?? []
      ).map(([, value]) => value) as [string[], string | null, Array<[string, string[]]>];
      const after = (id: string, cursor: string | null) => {
        if (cursor === null) return true;
        const [ms, n] = id.split('-').map(BigInt) as [bigint, bigint];
        const [cms, cn] = cursor.split('-').map(BigInt) as [bigint, bigint];
        return ms > cms || (ms === cms && n > cn);
      };
      const audit = [
        ...chain,
        ...stream.filter(([id]) => after(id, head)).map(([, fields]) => fields[fields.indexOf('e') + 1] as string),
      ].map((json) => JSON.parse(json) as { type: string; query?: string; data?: Record<string, unknown> });
      const auditSteps = (id: string) =>
        audit
          .filter((e) => e.query === id && e.type.startsWith('query.'))
          .map((e) => stepName(e.type.slice('query.'.length), e.data));
      const stepOnce = ids.map((id, i) => ({
        timeline: notOnce(steps(timelines[i] ?? []), expectedSteps),
        audit: notOnce(auditSteps(id), expectedSteps),
      }));

      const expectedUa = ids.flatMap((id) => [
        `reminder.${id}.0`,
        `reminder.${id}.1`,
        `escalation.ncb.${id}`,
        `escalation.formal.${id}.0`,
      ]);
      const expectedNcb = ids.flatMap((id) => [
        `notification.${id}`,
        `escalation.ncb.${id}`,
        `escalation.formal.${id}.0`,
      ]);
      const followUpIds = (events: QueryEvent[]) => events.filter((e) => e.type !== 'updated').map((e) => e.id);
      const figures = {
        queries: QUERIES,
        activeJobsAtKill: activeAtKill,
        webhooksInFlightAtKill,
        overdueAtKill,
        steps: expectedSteps.length * QUERIES,
        timelineNotOnce: stepOnce.filter((s) => Object.keys(s.timeline).length > 0).length,
        auditNotOnce: stepOnce.filter((s) => Object.keys(s.audit).length > 0).length,
        applicationEvents: followUpIds(uaEvents).length + followUpIds(ncbEvents).length,
        applicationEventsExpected: expectedUa.length + expectedNcb.length,
        applicationNotOnce: {
          ...notOnce(followUpIds(uaEvents), expectedUa),
          ...notOnce(followUpIds(ncbEvents), expectedNcb),
        },
        wireEvents: wire.ua.length + wire.ncb.length,
        wireRepeats: wire.ua.length - new Set(wire.ua).size + (wire.ncb.length - new Set(wire.ncb).size),
        webhookPosts: webhookKeys.length,
        // The NCB's system keeps one notification per Idempotency-Key: each query's, once.
        webhookKeysMissing: ids.filter((id) => !webhookKeys.includes(`notification.${id}`)).length,
        webhookKeysUnknown: webhookKeys.filter((key) => !ids.some((id) => key === `notification.${id}`)).length,
      };
      console.log(`fault worker SIGKILL: ${JSON.stringify(figures)}`);
      expect(stepOnce).toEqual(ids.map(() => ({ timeline: {}, audit: {} })));
      expect(figures.applicationNotOnce).toEqual({});
      expect([figures.webhookKeysMissing, figures.webhookKeysUnknown]).toEqual([0, 0]);
    } finally {
      redis.disconnect();
      await closeAllClients();
      closeAllSockets();
      await Promise.all(workers.map((worker) => worker.stop()));
      receiver.close();
      await hub.stop();
    }
  }, 90_000);
});
