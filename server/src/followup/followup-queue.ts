import { type Job, Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { HubKey } from '../identity/hub-key.js';
import type { Logger } from '../logger.js';
import type { FollowUpScheduler, QueryService } from '../queries/query-service.js';
import type { QueryRecord } from '../queries/query-store.js';
import { deliverWebhook } from './deliver-webhook.js';

/** Name of the BullMQ queue of the follow-up jobs. */
export const FOLLOWUP_QUEUE = 'followup';

/** The follow-up jobs. Ids are deterministic (`<name>.<query>[.<n>]`): adding one twice adds it once. */
export type FollowUpJob =
  | { name: 'ncb-notify'; data: { query: string; attempt: number } }
  | { name: 'ncb-ack-due'; data: { query: string } }
  | { name: 'ncb-webhook'; data: { query: string; ncb: string } }
  | { name: 'reminder'; data: { query: string; index: number } }
  | { name: 'overdue'; data: { query: string; escalation: number } };

const KEEP_FINISHED = { age: 30 * 24 * 3600 };

/** How a run of a follow-up job ended: `failed` is tried again, `exhausted` was its last attempt. */
export type FollowUpJobOutcome = 'completed' | 'failed' | 'exhausted';

/** How a webhook delivery ended (see {@link deliverWebhook}). */
export type WebhookOutcome = 'delivered' | 'retry' | 'refused' | 'skipped';

/** Told of what the workers of this process do (the hub's metrics): never throws. */
export interface FollowUpObserver {
  jobFinished(job: FollowUpJob['name'], outcome: FollowUpJobOutcome): void;
  webhookFinished(outcome: WebhookOutcome): void;
}

/** Adds and removes follow-up jobs on the BullMQ queue. */
export class FollowUpQueue implements FollowUpScheduler {
  readonly queue: Queue;
  /** Told of the outcomes of the workers started with this queue ({@link observe}). */
  #observers: FollowUpObserver[] = [];

  constructor(connection: Redis, prefix: string) {
    this.queue = new Queue(FOLLOWUP_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: {
        attempts: 10,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: KEEP_FINISHED,
        removeOnFail: KEEP_FINISHED,
      },
    });
  }

  async add(job: FollowUpJob, delayMs = 0): Promise<void> {
    await this.queue.add(job.name, job.data, { jobId: jobIdOf(job), delay: Math.max(0, Math.round(delayMs)) });
  }

  async scheduleOpened(record: QueryRecord, webhooks: Array<{ ncb: string }> = []): Promise<void> {
    const { view, followUp } = record;
    const query = view.id;
    const sinceOpened = Date.now() - view.openedAt;
    await this.queue.addBulk(
      [
        { job: { name: 'ncb-notify', data: { query, attempt: 0 } }, delay: 0 },
        ...webhooks.map(({ ncb }) => ({ job: { name: 'ncb-webhook', data: { query, ncb } } as FollowUpJob, delay: 0 })),
        { job: { name: 'ncb-ack-due', data: { query } }, delay: followUp.ncbAckDeadlineMs - sinceOpened },
        ...followUp.reminderOffsetsMs.map((offset, index) => ({
          job: { name: 'reminder', data: { query, index } } as FollowUpJob,
          delay: followUp.formalRequestDeadlineMs - offset - sinceOpened,
        })),
        {
          job: { name: 'overdue', data: { query, escalation: 0 } },
          delay: followUp.formalRequestDeadlineMs - sinceOpened,
        },
      ].map(({ job, delay }) => ({
        name: job.name,
        data: job.data,
        opts: { jobId: jobIdOf(job as FollowUpJob), delay: Math.max(0, Math.round(delay)) },
      })),
    );
  }

  async cancelNcbFollowUp(record: QueryRecord): Promise<void> {
    await this.remove([jobIdOf({ name: 'ncb-ack-due', data: { query: record.view.id } })]);
  }

  async cancelFormalRequestFollowUp(record: QueryRecord): Promise<void> {
    const query = record.view.id;
    const escalations = record.steps.filter((step) => step.startsWith('overdue.')).length;
    await this.remove([
      ...record.followUp.reminderOffsetsMs.map((_, index) => jobIdOf({ name: 'reminder', data: { query, index } })),
      ...Array.from({ length: escalations + 1 }, (_, escalation) =>
        jobIdOf({ name: 'overdue', data: { query, escalation } }),
      ),
    ]);
  }

  /** Removes waiting or delayed jobs; one that is running finishes, and finds nothing to do. */
  private async remove(ids: string[]): Promise<void> {
    await Promise.all(ids.map((id) => this.queue.remove(id).catch(() => 0)));
  }

  /** Tells `observer` the outcome of every job and webhook the workers started with this queue run. */
  observe(observer: FollowUpObserver): void {
    this.#observers.push(observer);
  }

  /** What the workers report; for {@link startFollowUpWorker}. */
  readonly report: FollowUpObserver = {
    jobFinished: (job, outcome) => {
      for (const observer of this.#observers) observer.jobFinished(job, outcome);
    },
    webhookFinished: (outcome) => {
      for (const observer of this.#observers) observer.webhookFinished(outcome);
    },
  };

  close(): Promise<void> {
    return this.queue.close();
  }
}

export function jobIdOf(job: FollowUpJob): string {
  switch (job.name) {
    case 'ncb-notify':
      return `ncb-notify.${job.data.query}.${job.data.attempt}`;
    case 'ncb-ack-due':
      return `ncb-ack-due.${job.data.query}`;
    case 'ncb-webhook':
      return `ncb-webhook.${job.data.query}.${job.data.ncb}`;
    case 'reminder':
      return `reminder.${job.data.query}.${job.data.index}`;
    case 'overdue':
      return `overdue.${job.data.query}.${job.data.escalation}`;
  }
}

/** Options of {@link startFollowUpWorker}. */
export interface FollowUpWorkerOptions {
  /** @defaultValue 10 */
  concurrency?: number;
  /** How long a job is locked to its worker before another may take it over. @defaultValue 30000 */
  lockDurationMs?: number;
  /** Signs webhook notifications. */
  hubKey: HubKey;
  /** Fault injection for the fault tests (see Config.followUpFault). */
  fault?: 'crash-before-reminder' | 'crash-after-reminder' | undefined;
}

/**
 * Runs the follow-up jobs. Several workers (in hub nodes or `npm run worker` processes) may run
 * at once: each job runs on one of them, and a job run again after a worker died records
 * nothing twice (see QueryService).
 */
export function startFollowUpWorker(
  connection: Redis,
  prefix: string,
  queries: QueryService,
  followUp: FollowUpQueue,
  logger: Logger,
  options: FollowUpWorkerOptions,
): Worker {
  const lockDuration = options.lockDurationMs ?? 30_000;
  const worker = new Worker(
    FOLLOWUP_QUEUE,
    async (job: Job) => {
      const { name, data } = job as unknown as FollowUpJob;
      switch (name) {
        case 'ncb-notify': {
          const again = await queries.notifyNcb(data.query);
          const record = again ? await queries.followUpOf(data.query) : undefined;
          if (record) {
            await followUp.add(
              { name, data: { query: data.query, attempt: data.attempt + 1 } },
              record.ncbResendEveryMs,
            );
          }
          return;
        }
        case 'ncb-ack-due':
          return queries.ncbAckDue(data.query);
        case 'ncb-webhook': {
          const delivery = await queries.webhookNotification(data.query, data.ncb);
          if (!delivery) {
            followUp.report.webhookFinished('skipped');
            return;
          }
          await deliverWebhook(delivery.url, data.ncb, delivery.event, options.hubKey);
          followUp.report.webhookFinished('delivered');
          return queries.webhookDelivered(data.query, data.ncb);
        }
        case 'reminder':
          if (options.fault === 'crash-before-reminder') process.exit(86);
          await queries.remind(data.query, data.index);
          if (options.fault === 'crash-after-reminder') process.exit(86);
          return;
        case 'overdue': {
          const again = await queries.formalRequestOverdue(data.query, data.escalation);
          const record = again ? await queries.followUpOf(data.query) : undefined;
          if (record) {
            await followUp.add(
              { name, data: { query: data.query, escalation: data.escalation + 1 } },
              record.escalationEveryMs,
            );
          }
          return;
        }
      }
    },
    {
      connection,
      prefix,
      concurrency: options.concurrency ?? 10,
      lockDuration,
      stalledInterval: Math.max(500, Math.floor(lockDuration / 2)),
      maxStalledCount: 5,
    },
  );
  worker.on('completed', (job) => followUp.report.jobFinished(job.name as FollowUpJob['name'], 'completed'));
  worker.on('failed', (job, error) => {
    logger.warn({ job: job?.id, err: error }, 'follow-up job failed');
    // A webhook that will not be tried again is escalated.
    const final = error instanceof UnrecoverableError || (job?.attemptsMade ?? 0) >= (job?.opts.attempts ?? 1);
    if (job) followUp.report.jobFinished(job.name as FollowUpJob['name'], final ? 'exhausted' : 'failed');
    if (job?.name === 'ncb-webhook') followUp.report.webhookFinished(final ? 'refused' : 'retry');
    if (job?.name === 'ncb-webhook' && final) {
      const { query, ncb } = job.data as { query: string; ncb: string };
      queries
        .webhookFailed(query, ncb, error.message)
        .catch((failure: unknown) => logger.error({ err: failure, job: job.id }, 'recording a failed webhook failed'));
    }
  });
  worker.on('error', (error) => logger.warn({ err: error }, 'follow-up worker error'));
  return worker;
}
