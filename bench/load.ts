/**
 * The load generator, the same for every server: raw Socket.IO clients (websocket only), each
 * sender keeping `window` unacknowledged `message:send` requests in flight, each recipient
 * counting the `conversation:item` events it receives.
 */

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Envelope } from '@ncp-hub/protocol';
import { io, type Socket } from 'socket.io-client';
import { cpuSeconds, machineBusySeconds } from './processes.js';

/** A raw client socket (no reconnection, websocket only), not yet connected. */
export function rawSocket(url: string, auth: Record<string, unknown>): Socket {
  return io(url, {
    auth,
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    autoConnect: false,
  });
}

/** Connects `socket` and resolves on `readyEvent` (`connect`, or the hub's `session:welcome`). */
export function connectSocket(socket: Socket, readyEvent: string, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${readyEvent} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      resolve();
    });
    socket.once('connect_error', (error: Error & { data?: unknown }) => {
      clearTimeout(timer);
      reject(new Error(`connect_error: ${error.message} ${JSON.stringify(error.data ?? '')}`));
    });
    socket.connect();
  });
}

/** One sender and the recipient device it writes to. */
export interface LoadPair {
  sender: Socket;
  recipient: Socket;
  /** The sealed envelope this sender resends, with a fresh `header.id`, `ts` and `seq` each time. */
  envelope: Envelope;
}

export interface LoadOptions {
  pairs: LoadPair[];
  /** Unacknowledged sends per sender. */
  window: number;
  warmupSeconds: number;
  seconds: number;
  /** Processes whose CPU time is measured over the window, by label (this process included if listed). */
  cpuOf: Record<string, number>;
}

export interface LoadResult {
  /** Length of the measurement window, s. */
  seconds: number;
  /** `conversation:item` events received by recipients in the window. */
  delivered: number;
  /** `{ ok: true }` answers received by senders in the window. */
  acked: number;
  /** `{ ok: false }` answers over the whole run, by code. */
  errors: Map<string, number>;
  /** Ack latency (send to answer) of answers received in the window, ms. */
  ackLatencies: Float64Array;
  /** Send (sender's `header.ts`) to receipt by the recipient, of items received in the window, ms (1 ms resolution). */
  deliveryLatencies: Float64Array;
  /** Successful sends over the whole run minus items received, after draining (0 unless something was lost). */
  undelivered: number;
  /** Sends still unanswered when the drain gave up. */
  unanswered: number;
  /** CPU use over the window, in cores (1.0 = one core busy), by label, and `other`: the rest of the machine. */
  cpu: Record<string, number | undefined>;
}

/** A growable list of numbers without boxing. */
class Samples {
  #data = new Float64Array(1 << 16);
  #length = 0;
  push(value: number): void {
    if (this.#length === this.#data.length) {
      const bigger = new Float64Array(this.#data.length * 2);
      bigger.set(this.#data);
      this.#data = bigger;
    }
    this.#data[this.#length++] = value;
  }
  sorted(): Float64Array {
    return this.#data.slice(0, this.#length).sort();
  }
}

/** Runs warm-up, then the measurement window, then drains what is in flight. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { pairs, window } = options;
  let phase: 'warmup' | 'measure' | 'drain' = 'warmup';
  let inFlight = 0;
  let sentOk = 0;
  let received = 0;
  let delivered = 0;
  let acked = 0;
  const errors = new Map<string, number>();
  const ackLatencies = new Samples();
  const deliveryLatencies = new Samples();

  const onItem = (item: { envelope?: Envelope }) => {
    received += 1;
    if (phase !== 'measure') return;
    delivered += 1;
    const ts = item.envelope?.header.ts;
    if (typeof ts === 'number') deliveryLatencies.push(Date.now() - ts);
  };
  for (const { recipient } of pairs) recipient.on('conversation:item', onItem);

  const pump = (pair: LoadPair, state: { seq: number; inFlight: number }) => {
    while (phase !== 'drain' && state.inFlight < window) {
      state.seq += 1;
      const envelope: Envelope = {
        ...pair.envelope,
        header: { ...pair.envelope.header, id: randomBytes(16).toString('base64url'), ts: Date.now(), seq: state.seq },
      };
      state.inFlight += 1;
      inFlight += 1;
      const started = performance.now();
      pair.sender.emit('message:send', { envelope }, (answer: { ok: boolean; error?: { code?: string } }) => {
        state.inFlight -= 1;
        inFlight -= 1;
        if (answer?.ok) {
          sentOk += 1;
          if (phase === 'measure') {
            acked += 1;
            ackLatencies.push(performance.now() - started);
          }
        } else {
          const code = answer?.error?.code ?? 'NO_ANSWER';
          errors.set(code, (errors.get(code) ?? 0) + 1);
        }
        pump(pair, state);
      });
    }
  };

  for (const pair of pairs) pump(pair, { seq: 0, inFlight: 0 });
  await sleep(options.warmupSeconds * 1000);

  const labels = Object.keys(options.cpuOf);
  const readCpu = () => [...labels.map((label) => cpuSeconds(options.cpuOf[label] as number)), machineBusySeconds()];
  const cpuBefore = readCpu();
  const startedAt = performance.now();
  phase = 'measure';
  await sleep(options.seconds * 1000);
  phase = 'drain';
  const elapsed = (performance.now() - startedAt) / 1000;
  const cpuAfter = readCpu();

  const used = cpuAfter.map((after, i) => {
    const before = cpuBefore[i];
    return before === undefined || after === undefined ? undefined : (after - before) / elapsed;
  });
  const cpu: Record<string, number | undefined> = {};
  labels.forEach((label, i) => {
    cpu[label] = used[i];
  });
  // Everything else the machine did meanwhile: other processes competing for the cores.
  const machine = used[labels.length];
  const ours = used.slice(0, labels.length);
  cpu.other =
    machine === undefined || ours.includes(undefined) ? undefined : Math.max(0, machine - sum(ours as number[]));

  // Drain: every send answered, then every stored message pushed.
  const deadline = Date.now() + 15_000;
  while (inFlight > 0 && Date.now() < deadline) await sleep(20);
  const pushDeadline = Date.now() + 5_000;
  while (received < sentOk && Date.now() < pushDeadline) await sleep(20);
  for (const { recipient } of pairs) recipient.off('conversation:item', onItem);

  return {
    seconds: elapsed,
    delivered,
    acked,
    errors,
    ackLatencies: ackLatencies.sorted(),
    deliveryLatencies: deliveryLatencies.sorted(),
    undelivered: sentOk - received,
    unanswered: inFlight,
    cpu,
  };
}

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

/** The q-quantile (0..1) of sorted samples, or undefined when there are none. */
export function quantile(sorted: Float64Array, q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
