/**
 * Fuzzing below the Socket.IO client (issue 9, "Suites that keep it closed"): raw Socket.IO
 * packets over an Engine.IO WebSocket, as a hostile client writes them — JSON text no encoder
 * makes (duplicate keys, `__proto__` keys at any depth, nesting to 100,000 levels, numbers past
 * a double, escaped lone surrogates, raw control characters), binary packets with attachments
 * where none belong (placeholders under `__proto__`, out of range, more attachments than
 * announced or fewer, more than the parser takes), packets of every type and namespace, frames
 * over the size limit, and garbage. A packet the Socket.IO parser decodes into an event with an
 * ack id is answered — with a stable code, never INTERNAL, or `ok: true` when the contract
 * accepts it; one it cannot decode closes that connection (the parser's refusal, before the
 * hub); nothing else is touched: the invariants of {@link Invariants} hold.
 */
import {
  CLIENT_EVENT_SPEC,
  CLIENT_EVENTS,
  type ClientEventName,
  errorFamilyOf,
  type HubErrorCode,
  hubErrorBodySchema,
  isHubErrorCode,
} from '@ncp-hub/protocol';
import { Socket as EngineSocket } from 'engine.io-client';
import fc from 'fast-check';
import { Decoder, PacketType } from 'socket.io-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../helpers/agencies.js';
import {
  describeCase,
  hostileString,
  hostileValue,
  MAX_ATTACHMENTS,
  ownObject,
  PROTOTYPE_KEYS,
} from './arbitraries.js';
import { checkProperty, fuzzTimeout, Invariants, predicate } from './fuzz-run.js';
import { ANSWER_TIMEOUT_MS, type FuzzWorld, startFuzzWorld } from './world.js';

let world: FuzzWorld;
let invariants: Invariants;

beforeAll(async () => {
  world = await startFuzzWorld();
  invariants = await new Invariants(world).start();
}, 120_000);
afterAll(async () => {
  raw?.close();
  await world?.stop();
});

/** A Socket.IO connection spoken by hand: Socket.IO packets as text and binary Engine.IO messages. */
class RawConnection {
  readonly engine: EngineSocket;
  closed = false;
  readonly #acks = new Map<number, unknown>();
  readonly #waiting = new Map<number, () => void>();
  #onClose: Array<() => void> = [];

  private constructor(engine: EngineSocket) {
    this.engine = engine;
    engine.on('message', (data) => {
      if (typeof data !== 'string') return;
      const ack = /^3(\d+)([\s\S]*)$/.exec(data);
      if (!ack) return;
      const id = Number(ack[1]);
      let answer: unknown;
      try {
        answer = (JSON.parse(ack[2] as string) as unknown[])[0];
      } catch {
        answer = { unparseable: ack[2] };
      }
      this.#acks.set(id, answer);
      this.#waiting.get(id)?.();
    });
    engine.on('close', () => {
      this.closed = true;
      for (const wake of this.#onClose) wake();
      for (const wake of this.#waiting.values()) wake();
    });
  }

  /** Opens the Engine.IO WebSocket and connects to the main namespace with an officer's token and device. */
  static async open(url: string, auth: Record<string, string>): Promise<RawConnection> {
    const engine = new EngineSocket(url, { path: '/socket.io/', transports: ['websocket'] });
    const connection = new RawConnection(engine);
    await new Promise<void>((resolve, reject) => {
      engine.on('message', function connected(data) {
        if (typeof data === 'string' && data.startsWith('0{')) {
          engine.off('message', connected);
          resolve();
        } else if (typeof data === 'string' && data.startsWith('4')) reject(new Error(`connect refused: ${data}`));
      });
      engine.on('open', () => engine.send(`0${JSON.stringify(auth)}`));
      engine.on('error', reject);
    });
    return connection;
  }

  send(frames: ReadonlyArray<string | Buffer>): void {
    for (const frame of frames) this.engine.send(frame);
  }

  /** The answer to ack id `id`, or `closed` when the connection closed first, or `timeout`. */
  answer(id: number, timeoutMs = ANSWER_TIMEOUT_MS): Promise<unknown> {
    if (this.#acks.has(id)) return Promise.resolve(this.#acks.get(id));
    if (this.closed) return Promise.resolve('closed');
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish('timeout'), timeoutMs);
      const finish = (value: unknown) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        resolve(value);
      };
      this.#waiting.set(id, () => finish(this.#acks.has(id) ? this.#acks.get(id) : 'closed'));
    });
  }

  /** Resolves once the hub closed the connection, or after `ms`. */
  closedWithin(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.closed), ms);
      this.#onClose.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  close(): void {
    this.closed = true;
    this.engine.close();
  }
}

let raw: RawConnection | undefined;
/** The fuzzer's raw connection (its device), opened again when the hub closed the last one. */
async function connection(): Promise<RawConnection> {
  if (!raw || raw.closed) {
    raw?.close();
    const token = await tokenFor(world.hub.agencies['UA-NPU'], { officer: 'ua.fuzzer', ttlSeconds: 6 * 3600 });
    raw = await RawConnection.open(world.hub.url, { token, device: 'fz-1' });
  }
  return raw;
}

/** Ack ids: each packet and each probe takes the next. */
let nextId = 1;

/** What the fuzzer expects of a packet it sends. */
type Expectation =
  /** The parser decodes it into this event and payload (unknown with attachments): it is answered. */
  | { kind: 'answered'; event: string; payload: unknown }
  /** Anything but a crash or INTERNAL: answered, ignored, or the connection closed. */
  | { kind: 'any' }
  /**
   * The client's own DISCONNECT of the main namespace: the hub closes the Engine.IO connection
   * too (PROTOCOL §1; test/integration/transport-edges.test.ts); nothing is answered on it.
   */
  | { kind: 'leaves' };

/** One fuzzed packet: its frames (the text, then its attachments) for an ack id, and what to expect. */
interface Packet {
  frames(id: number): Array<string | Buffer>;
  expect: Expectation;
  /** Its kind, for the tally. */
  label: string;
}

/** JSON text no encoder writes, with the value the parser makes of it (when it is JSON at all). */
function rawJson(context: { keys: readonly string[]; strings: readonly string[] }): fc.Arbitrary<{ text: string }> {
  const value = hostileValue(context);
  const key = fc.constantFrom(...context.keys, ...PROTOTYPE_KEYS);
  return fc.oneof(
    { weight: 4, arbitrary: value.map((v) => ({ text: JSON.stringify(v ?? null) })) },
    {
      weight: 2,
      arbitrary: fc.tuple(key, value, value).map(([k, a, b]) => ({
        text: `{${JSON.stringify(k)}:${JSON.stringify(a ?? null)},${JSON.stringify(k)}:${JSON.stringify(b ?? null)}}`,
      })),
    },
    {
      weight: 2,
      arbitrary: fc.tuple(fc.constantFrom(...PROTOTYPE_KEYS), key, value).map(([proto, k, v]) => ({
        text: `{${JSON.stringify(k)}:{"${proto}":{"polluted":"yes","${k}":${JSON.stringify(v ?? null)}}}}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom(1_000, 10_000, 100_000), fc.boolean()).map(([depth, arrays]) => ({
        text: arrays ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`,
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(
          '1e400',
          '-1e400',
          '123456789012345678901234567890',
          '-0',
          '"\\ud800"',
          '"\\udfff\\ud800"',
          '{"conv":"\\u0000"}',
          '"\u0001"',
          '"\t"',
          '{"conv":"a"',
          '{"conv":"a"}}',
          '[1,]',
          "{'conv':'a'}",
          'NaN',
          'undefined',
          '',
          '{"__proto__":{"__proto__":{"polluted":"yes"}}}',
          '{"constructor":{"prototype":{"polluted":"yes"}}}',
        )
        .map((text) => ({ text })),
    },
  );
}

/** The largest frame the hub takes (its Socket.IO `maxHttpBufferSize`, PROTOCOL.md §1). */
const MAX_FRAME_BYTES = 1_048_576;

/** Whether the parser decodes `[event, ...]` text into an event the hub's listeners see. */
function decodedEvent(text: string): { event: string; payload: unknown } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string') return undefined;
  if (
    ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'].includes(parsed[0])
  ) {
    return undefined;
  }
  return { event: parsed[0], payload: parsed.length > 1 ? (parsed[1] ?? {}) : {} };
}

function packets(): fc.Arbitrary<Packet> {
  const context = { keys: world.keys, strings: world.strings };
  const event = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...CLIENT_EVENTS) },
    { weight: 1, arbitrary: hostileString(world.strings) },
  );
  const json = rawJson(context);
  // An event with an ack id, its arguments as raw JSON text.
  const textEvent = fc.tuple(event, fc.array(json, { maxLength: 2 })).map(([name, args]): Packet => {
    const text = `[${[JSON.stringify(name), ...args.map((a) => a.text)].join(',')}]`;
    const frames = (id: number) => [`2${id}${text}`];
    // Two deep arguments can pass the frame limit: Engine.IO closes the connection before any parser.
    if (Buffer.byteLength(text) > MAX_FRAME_BYTES - 32) return { frames, expect: { kind: 'any' }, label: 'over 1 MiB' };
    const decoded = decodedEvent(text);
    return {
      frames,
      expect: decoded ? { kind: 'answered', ...decoded } : { kind: 'any' },
      label: decoded ? 'event' : 'event, not decodable',
    };
  });
  // A binary event: placeholders anywhere (under prototype keys too), attachments as announced or not.
  const placeholder = (num: unknown) => ({ _placeholder: true, num });
  const binaryEvent = fc
    .record({
      name: fc.constantFrom(...CLIENT_EVENTS),
      field: fc.constantFrom(...world.keys, ...PROTOTYPE_KEYS),
      nested: fc.constantFrom(...PROTOTYPE_KEYS, 'conv', 'record'),
      count: fc.integer({ min: 1, max: MAX_ATTACHMENTS + 2 }),
      announced: fc.oneof(
        { weight: 4, arbitrary: fc.constant<number | undefined>(undefined) },
        fc.integer({ min: 0, max: MAX_ATTACHMENTS + 2 }),
      ),
      nums: fc.array(
        fc.oneof(
          { weight: 5, arbitrary: fc.constant<unknown>(undefined) },
          fc.constantFrom<unknown>(-1, 99, '0', 0.5, null, '__proto__'),
        ),
        {
          minLength: MAX_ATTACHMENTS + 2,
          maxLength: MAX_ATTACHMENTS + 2,
        },
      ),
      attachment: fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
    })
    .map(({ name, field, nested, count, announced, nums, attachment }): Packet => {
      const slots = Array.from({ length: count }, (_, i) => placeholder(nums[i] === undefined ? i : nums[i]));
      const payload = ownObject([
        [field, slots[0]],
        [
          nested,
          ownObject([
            ['__proto__', slots[1] ?? null],
            ['x', slots.slice(2)],
          ]),
        ],
      ]);
      const text = JSON.stringify([name, payload]);
      const valid =
        announced === undefined && count <= MAX_ATTACHMENTS && nums.slice(0, count).every((n) => n === undefined);
      return {
        frames: (id) => [`5${announced ?? count}-${id}${text}`, ...Array.from({ length: count }, () => attachment)],
        expect: valid ? { kind: 'answered', event: name, payload: undefined } : { kind: 'any' },
        label: valid ? 'binary event' : 'binary event, not decodable',
      };
    });
  // Everything else the protocol has, and what it does not.
  const other = fc.oneof(
    fc.constantFrom(
      '0{}',
      '0/admin,{}',
      '0/,{}',
      '1/admin,',
      '3999[]',
      '3["x"]',
      '4{"message":"x"}',
      '6',
      '7',
      '9',
      '2/admin,["session:whoami",{}]',
      '2["session:whoami"',
      '2[]',
      '2[1,2,3]',
      '2{"a":1}',
      '2"x"',
      '2-1["session:whoami",{}]',
      '299999999999999999999["session:whoami",{}]',
      '5',
      '5-',
      '5a-["x",{}]',
      '51-["session:whoami",{"_placeholder":true,"num":0}]',
      '',
      ' ',
      '\u0000',
    ),
    hostileString(world.strings),
    fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
  );
  // A frame over the 1 MiB Engine.IO limit.
  const oversized: Packet = {
    frames: (id) => [`2${id}["session:whoami",{"x":"${'x'.repeat(MAX_FRAME_BYTES + 50_000)}"}]`],
    expect: { kind: 'any' },
    label: 'over 1 MiB',
  };
  return fc.oneof(
    { weight: 6, arbitrary: textEvent },
    { weight: 3, arbitrary: binaryEvent },
    {
      weight: 3,
      arbitrary: other.map(
        (frame): Packet =>
          disconnectsMainNamespace(frame)
            ? { frames: () => [frame], expect: { kind: 'leaves' }, label: 'disconnect' }
            : { frames: () => [frame], expect: { kind: 'any' }, label: 'other' },
      ),
    },
    { weight: 1, arbitrary: fc.constant(oversized) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Packet>({ frames: () => ['1'], expect: { kind: 'leaves' }, label: 'disconnect' }),
    },
  );
}

/** Whether Socket.IO's parser reads a frame as the client's DISCONNECT of the main namespace (`1`, `1/,`, `1` and digits ...). */
function disconnectsMainNamespace(frame: string | Buffer): boolean {
  if (typeof frame !== 'string') return false;
  const decoder = new Decoder();
  let decoded: { type: PacketType; nsp: string } | undefined;
  decoder.on('decoded', (packet: { type: PacketType; nsp: string }) => {
    decoded = packet;
  });
  try {
    decoder.add(frame);
  } catch {
    return false;
  }
  const packet = decoded as { type: PacketType; nsp: string } | undefined;
  return packet?.type === PacketType.DISCONNECT && packet.nsp === '/';
}

function describePacket(packet: Packet): string {
  const frames = packet
    .frames(0)
    .map((frame) =>
      typeof frame === 'string' && frame.length > 400
        ? `${frame.slice(0, 200)}…${frame.slice(-200)} (${frame.length} characters)`
        : frame,
    );
  return describeCase(frames);
}

/** An answer is a hub answer: `ok: true` (the contract accepts the payload, when it is known) or a stable code, not INTERNAL. */
function assertAnswer(packet: Packet, answer: unknown): void {
  const where = () => `${describePacket(packet)} answered ${describeCase(answer)}`;
  const body = answer as { ok?: unknown; error?: { code?: unknown } };
  if (body?.ok === true) {
    const expectation = packet.expect;
    if (expectation.kind === 'answered' && expectation.payload !== undefined) {
      const spec = CLIENT_EVENT_SPEC[expectation.event as ClientEventName];
      if (spec && !spec.request.safeParse(expectation.payload).success)
        expect.fail(`accepted off the contract: ${where()}`);
    }
    return;
  }
  if (body?.ok !== false || !hubErrorBodySchema.safeParse(body.error).success || !isHubErrorCode(body.error?.code)) {
    expect.fail(`not a hub answer: ${where()}`);
  }
  if (body.error?.code === 'INTERNAL') expect.fail(`INTERNAL: ${where()}`);
  if (errorFamilyOf(body.error?.code as HubErrorCode) === 'client')
    expect.fail(`a code only an SDK raises: ${where()}`);
}

describe('fuzzing raw Socket.IO packets', () => {
  it(
    'answers every packet the parser decodes into an event, and closes only the connection of one it cannot',
    async () => {
      const tally = new Map<string, number>();
      const count = (label: string) => tally.set(label, (tally.get(label) ?? 0) + 1);
      await checkProperty(
        'raw Socket.IO packets',
        fc.asyncProperty(
          packets(),
          predicate(describePacket, async (packet: Packet) => {
            const socket = await connection();
            const id = nextId++;
            socket.send(packet.frames(id));
            const expectation = packet.expect;
            if (expectation.kind === 'answered') {
              const answer = await socket.answer(id);
              if (answer === 'timeout' || answer === 'closed') expect.fail(`${answer}: ${describePacket(packet)}`);
              assertAnswer(packet, answer);
            }
            if (expectation.kind === 'leaves') {
              count(`${packet.label}: left`);
              socket.close();
              await invariants.afterRun({ cases: () => describePacket(packet), wrote: false });
              return;
            }
            // Then a probe: answered on a connection that lives on, or the connection closed.
            const probe = nextId++;
            socket.send([`2${probe}["session:whoami",{}]`]);
            const answer = await socket.answer(probe);
            if (answer === 'timeout')
              expect.fail(`the connection neither answers nor closes after ${describePacket(packet)}`);
            count(`${packet.label}: ${answer === 'closed' ? 'closed' : 'lives on'}`);
            if (answer !== 'closed') expect(answer, describePacket(packet)).toMatchObject({ ok: true });
            await invariants.afterRun({ cases: () => describePacket(packet), wrote: false });
          }),
        ),
      );
      await invariants.endBatch();
      console.info(
        `fuzz: raw Socket.IO packets, by kind and what became of the connection: ${[...tally].map(([label, n]) => `${label} ${n}`).join(', ')}`,
      );
    },
    fuzzTimeout(30),
  );
});
