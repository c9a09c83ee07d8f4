/**
 * Client histories for the fault suites (issue 9): what each sender's application was told was
 * stored (acknowledged), and what each recipient's application received, so that a suite can
 * check, after any fault, that every acknowledged message reached every recipient once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { type HubClient, MemoryKeyStore, type ReceivedMessage } from '@ncp-hub/client-sdk';
import { randomBytes } from '@ncp-hub/crypto';
import { type ConversationId, HubError, type MessageId, toBase64url } from '@ncp-hub/protocol';
import type { TestAgency, TestAgencyId } from './agencies.js';
import { connectDevice, recorded } from './officers.js';
import { waitFor } from './wait-for.js';

/**
 * Codes after which a sender tries the same message again with the same id, as
 * `SendOptions.id` tells an application to: the hub may have stored it (`REQUEST_TIMEOUT`,
 * `NOT_CONNECTED`, `INTERNAL`, `REPLICATION_TIMEOUT`), or refused it for now and said when to come back (`BUSY`,
 * `RATE_LIMITED`, with `retryAfter`). Any other refusal ends the sender (and fails its suite).
 */
export const TRY_AGAIN: ReadonlySet<string> = new Set([
  'REQUEST_TIMEOUT',
  'NOT_CONNECTED',
  'INTERNAL',
  'BUSY',
  'RATE_LIMITED',
  'REPLICATION_TIMEOUT',
]);
/** A sender's wait before trying again when the hub gave no `retryAfter` (the connection is down ...). */
const RETRY_DELAY_MS = 100;

/** What one sender's application saw. */
export interface SenderHistory {
  label: string;
  client: HubClient;
  conv: ConversationId;
  /** Messages the application asked to send (each tried until acknowledged). */
  sent: MessageId[];
  /** Messages the hub acknowledged as stored, in order. */
  acknowledged: MessageId[];
  /** How many tries failed, by code. */
  failures: Record<string, number>;
  /** The `retryAfter` of each `BUSY` refusal. */
  busyRetryAfter: number[];
}

/** A sender running in the background: it sends until stopped, each message tried until acknowledged. */
export interface Sender {
  history: SenderHistory;
  /** Resolves once `acknowledged` holds at least `count` messages. */
  acknowledgedAtLeast(count: number, timeoutMs?: number): Promise<void>;
  /** Stops after the message in flight is acknowledged; rejects if a send was refused for good. */
  stop(): Promise<void>;
}

/**
 * Starts sending text messages `<label> #<n>` to `conv`, one after another, as an application
 * that keeps every message until the hub has acknowledged it: a failed send is tried again with
 * the same id (after `retryAfter` when the hub gave one), so the SDK re-sends the same envelope
 * when the hub may have stored it.
 */
export function startSender(client: HubClient, conv: ConversationId, label: string): Sender {
  const history: SenderHistory = { label, client, conv, sent: [], acknowledged: [], failures: {}, busyRetryAfter: [] };
  let stopping = false;
  const loop = (async () => {
    for (let n = 1; !stopping; n += 1) {
      const id = toBase64url(randomBytes(16));
      history.sent.push(id);
      for (;;) {
        try {
          await client.send(conv, `${label} #${n}`, { id });
          history.acknowledged.push(id);
          break;
        } catch (error) {
          if (!(error instanceof HubError) || !TRY_AGAIN.has(error.code)) throw error;
          history.failures[error.code] = (history.failures[error.code] ?? 0) + 1;
          if (error.code === 'BUSY') history.busyRetryAfter.push(error.retryAfter ?? Number.NaN);
          await sleep(error.retryAfter ?? RETRY_DELAY_MS);
        }
      }
    }
  })();
  // Reported by stop(); kept from being an unhandled rejection meanwhile.
  loop.catch(() => {});
  return {
    history,
    async acknowledgedAtLeast(count, timeoutMs = 20_000) {
      await Promise.race([
        waitFor(() => history.acknowledged.length >= count, timeoutMs, 20),
        loop.then(() => Promise.reject(new Error(`${label} stopped before ${count} acknowledgements`))),
      ]);
    },
    async stop() {
      stopping = true;
      await loop;
    },
  };
}

/**
 * What one member's application received: every `message` event of each of its clients (the
 * same device reconnected with its key store is a new client), since each was created, its
 * first sync included; nothing deduplicated here.
 */
export interface RecipientHistory {
  label: string;
  clients: HubClient[];
  readonly messages: ReceivedMessage[];
}

/** The history of a member whose device is `client` (see {@link RecipientHistory}); push later clients of the same device to `clients`. */
export function watchRecipient(client: HubClient, label: string): RecipientHistory {
  const clients = [client];
  return {
    label,
    clients,
    get messages() {
      return clients.flatMap((c) => recorded(c, 'message'));
    },
  };
}

/** The invariant's figures, over every (sender, recipient) pair of a conversation. */
export interface DeliveryFigures {
  /** Messages the senders' applications asked to send. */
  sent: number;
  /** Of those, acknowledged by the hub. */
  acknowledged: number;
  /** Acknowledged messages each recipient should receive, summed over the recipients. */
  expected: number;
  /** Of `expected`, received (once or more). */
  delivered: number;
  /** Receptions beyond the first of one message by one recipient. */
  duplicates: number;
  /** Of `expected`, never received. */
  lost: number;
  /** Received by an application though never acknowledged to its sender. */
  unacknowledgedDelivered: number;
  /** Failed tries by code, over the senders. */
  failures: Record<string, number>;
  /** What each recipient lost: per sender, the positions (1-based) of the lost messages among its acknowledged ones. */
  lostBy: Record<string, Record<string, number[]>>;
}

/** Counts, for every sender and every other member's application, what was acknowledged against what arrived. */
export function deliveryFigures(senders: SenderHistory[], recipients: RecipientHistory[]): DeliveryFigures {
  const figures: DeliveryFigures = {
    sent: 0,
    acknowledged: 0,
    expected: 0,
    delivered: 0,
    duplicates: 0,
    lost: 0,
    unacknowledgedDelivered: 0,
    failures: {},
    lostBy: {},
  };
  const acknowledged = new Set(senders.flatMap((s) => s.acknowledged));
  for (const sender of senders) {
    figures.sent += sender.sent.length;
    figures.acknowledged += sender.acknowledged.length;
    for (const [code, n] of Object.entries(sender.failures)) figures.failures[code] = (figures.failures[code] ?? 0) + n;
  }
  for (const recipient of recipients) {
    const received = new Map<MessageId, number>();
    for (const message of recipient.messages) received.set(message.id, (received.get(message.id) ?? 0) + 1);
    for (const [id, times] of received) {
      figures.duplicates += times - 1;
      if (!acknowledged.has(id)) figures.unacknowledgedDelivered += 1;
    }
    for (const sender of senders) {
      if (sender.label === recipient.label) continue;
      figures.expected += sender.acknowledged.length;
      for (const [i, id] of sender.acknowledged.entries()) {
        if (received.has(id)) {
          figures.delivered += 1;
          continue;
        }
        figures.lost += 1;
        const byRecipient = figures.lostBy[recipient.label] ?? {};
        figures.lostBy[recipient.label] = byRecipient;
        byRecipient[sender.label] = [...(byRecipient[sender.label] ?? []), i + 1];
      }
    }
  }
  return figures;
}

/**
 * Stops the senders, has each send one last message (acknowledged like the others) and waits
 * until every recipient has received every acknowledged message, then returns the figures,
 * printed on one line (`<name>: {...}`) for the closing note. A message the hub re-delivers
 * comes, in its conversation's order, before the last ones, which are waited for: so a
 * duplicate of anything before them would be counted. On a timeout the figures are returned
 * as they are (the suite's assertions then show what was lost).
 */
export async function settleAndCount(
  name: string,
  senders: Sender[],
  recipients: RecipientHistory[],
  timeoutMs = 30_000,
): Promise<DeliveryFigures> {
  await Promise.all(senders.map((s) => s.stop()));
  // One last message each, tried until acknowledged, after everything the fault touched.
  const last = senders.map((s) => startSender(s.history.client, s.history.conv, `${s.history.label} last`));
  await Promise.all(last.map((s) => s.acknowledgedAtLeast(1, timeoutMs)));
  await Promise.all(last.map((s) => s.stop()));
  for (const [i, s] of senders.entries()) {
    const tail = last[i]?.history as SenderHistory;
    s.history.sent.push(...tail.sent);
    s.history.acknowledged.push(...tail.acknowledged);
    for (const [code, n] of Object.entries(tail.failures))
      s.history.failures[code] = (s.history.failures[code] ?? 0) + n;
  }
  const histories = senders.map((s) => s.history);
  await waitFor(() => deliveryFigures(histories, recipients).lost === 0, timeoutMs, 50).catch(() => {});
  const figures = deliveryFigures(histories, recipients);
  console.log(`${name}: ${JSON.stringify(figures)}`);
  return figures;
}

/** A fault of {@link streamThroughFault}: it does the damage, and resolves once the service is back. */
export interface Fault {
  name: string;
  /** The damage (a kill), done while the senders send. */
  inflict(): Promise<void>;
  /** Brings the service back (a restart). */
  recover(): Promise<void>;
}

/**
 * The fault suites' scenario: a group of three officers (two of them sending all along, each
 * message tried until acknowledged; the third, offline from the middle of the stream until the
 * service is back, when its device reconnects with the same key store and syncs from the hub's
 * cursor, so that what it gets of the messages acknowledged meanwhile came from what the hub
 * kept through the fault). The fault is inflicted while messages are in flight; each sender must
 * have a failed try before the recovery, and acknowledged more after it. Returns the figures,
 * and how long the senders took to be acknowledged again after the fault.
 */
export async function streamThroughFault(
  hub: { url: string; agencies: Record<TestAgencyId, TestAgency> },
  fault: Fault,
  run: string,
): Promise<{
  figures: DeliveryFigures;
  clients: HubClient[];
  senders: SenderHistory[];
  /** From the start of the fault until every sender had a message acknowledged after it (NaN if one never did). */
  resumedMs: number;
}> {
  const members = [
    { agency: 'UA-NPU', officer: `ua.${run}.a` },
    { agency: 'PL-KGP', officer: `pl.${run}.b` },
    { agency: 'UA-NPU', officer: `ua.${run}.c` },
  ] as const;
  const store = new MemoryKeyStore();
  const connect = (i: 0 | 1 | 2) =>
    connectDevice(hub.url, hub.agencies[members[i].agency], members[i].officer, i === 2 ? { store } : {});
  const a = await connect(0);
  const b = await connect(1);
  let c = await connect(2);
  const group = await a.createConversation({
    kind: 'group',
    members: [members[1], members[2]],
    basis: { type: 'formal-request', reference: `MLA/2026/${run}`, caseReference: '12026100000000900' },
  });
  const recipients = [a, b, c].map((client, i) => watchRecipient(client, members[i]?.officer ?? ''));
  const offline = recipients[2] as RecipientHistory;
  await waitFor(
    async () =>
      (await b.conversations()).some((x) => x.id === group.id) &&
      (await c.conversations()).some((x) => x.id === group.id),
  );

  const senders = [a, b].map((client, i) => startSender(client, group.id, members[i]?.officer ?? ''));
  await Promise.all(senders.map((s) => s.acknowledgedAtLeast(10)));
  await c.close();
  const ackedAtClose = senders.map((s) => s.history.acknowledged.length);
  await Promise.all(senders.map((s, i) => s.acknowledgedAtLeast((ackedAtClose[i] ?? 0) + 10)));

  const triesBefore = senders.map((s) => failedTries(s.history));
  const faultAt = Date.now();
  await fault.inflict();
  const ackedAtFault = senders.map((s) => s.history.acknowledged.length);
  // Timed apart from the steps below, which wait on more than the senders.
  const resumed = Promise.all(senders.map((s, i) => s.acknowledgedAtLeast((ackedAtFault[i] ?? 0) + 1, 60_000))).then(
    () => Date.now() - faultAt,
    () => Number.NaN,
  );
  await Promise.all(senders.map((s, i) => waitFor(() => failedTries(s.history) > (triesBefore[i] ?? 0), 30_000, 20)));
  await fault.recover();
  c = await connect(2);
  offline.clients.push(c);
  await Promise.all(senders.map((s, i) => s.acknowledgedAtLeast((ackedAtFault[i] ?? 0) + 10, 30_000)));

  const resumedMs = await resumed;
  const figures = await settleAndCount(fault.name, senders, recipients);
  return { figures, clients: [a, b, c], senders: senders.map((s) => s.history), resumedMs };
}

function failedTries(history: SenderHistory): number {
  return Object.values(history.failures).reduce((x, y) => x + y, 0);
}
