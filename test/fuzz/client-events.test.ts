/**
 * Fuzzing every client event (issue 9, "Suites that keep it closed"), over CLIENT_EVENTS, so a
 * new event is fuzzed as soon as the protocol names it: hostile payloads of every shape, and
 * mutations of a valid payload of each event. Every case is answered — with a stable code of
 * HUB_ERROR_CODES and never INTERNAL, or with `ok: true` only when the payload is one the wire
 * contract accepts — and leaves the invariants of {@link Invariants} intact.
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
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  caseText,
  describeCase,
  emitArguments,
  fitsOnePacket,
  hasBinary,
  hostileString,
  type Mutation,
  mutate,
  mutations,
  wireValue,
} from './arbitraries.js';
import { checkProperty, fuzzTimeout, Invariants, predicate } from './fuzz-run.js';
import { emitWithAck, type FuzzWorld, READ_ONLY_EVENTS, SENDERS, type Sender, startFuzzWorld } from './world.js';

let world: FuzzWorld;
let invariants: Invariants;

beforeAll(async () => {
  world = await startFuzzWorld();
  invariants = await new Invariants(world).start();
}, 120_000);
afterAll(async () => {
  await world?.stop();
});

/** Events whose payload is a record signed by the sender's device: a changed record cannot verify, so is never accepted. */
const SIGNED_RECORD_EVENTS: ReadonlySet<ClientEventName> = new Set(['conversation:create', 'conversation:change']);

/** How many answers of each kind the suite saw, for the log. */
const tally = new Map<string, number>();
function count(label: string): void {
  tally.set(label, (tally.get(label) ?? 0) + 1);
}

/** The payload the hub's event loop reads from what this process emitted (register-events.ts: the first argument, or `{}`). */
function receivedPayload(args: readonly unknown[]): unknown {
  return args.length === 0 ? {} : (wireValue(args[0], hasBinary(args)) ?? {});
}

/** Fails with `message()` (computed only then: a case may be large) unless `condition` holds. */
function check(condition: boolean, message: () => string): void {
  if (!condition) expect.fail(message());
}

/**
 * The answer to one case is well-formed: `ok: true` with the answer the protocol specifies, for
 * a payload its request schema accepts; or `ok: false` with a hub error body whose code is one of
 * HUB_ERROR_CODES and not INTERNAL. Returns whether it was accepted.
 */
function assertAnswer(event: ClientEventName, args: readonly unknown[], answer: Record<string, unknown>): boolean {
  const where = () => `${event} ${describeCase(args)} answered ${describeCase(answer)}`;
  if (answer.ok === true) {
    const { ok: _ok, ...result } = answer;
    const payload = receivedPayload(args);
    check(CLIENT_EVENT_SPEC[event].request.safeParse(payload).success, () => `accepted off the contract: ${where()}`);
    check(CLIENT_EVENT_SPEC[event].response.safeParse(result).success, () => `an answer off the contract: ${where()}`);
    count(`${event} ok`);
    return true;
  }
  const error = answer.error as { code?: unknown } | undefined;
  check(answer.ok === false && hubErrorBodySchema.safeParse(error).success, () => `not a hub error: ${where()}`);
  check(error?.code !== 'INTERNAL', () => `INTERNAL: ${where()}`);
  check(isHubErrorCode(error?.code), () => `not a stable code: ${where()}`);
  check(errorFamilyOf(error?.code as HubErrorCode) !== 'client', () => `a code only an SDK raises: ${where()}`);
  count(String(error?.code));
  return false;
}

describe('fuzzing every client event', () => {
  it(
    'answers hostile payloads (any type, shape, size, depth; prototype keys; control characters, lone surrogates; binary attachments) with a coded error',
    async () => {
      const context = { keys: world.keys, strings: world.strings };
      await checkProperty(
        'client events, hostile payloads',
        fc.asyncProperty(
          fc.constantFrom(...SENDERS),
          emitArguments(context),
          predicate(
            (sender, args) => `${sender}: ${describeCase(args)}`,
            async (sender: Sender, args: unknown[]) => {
              const socket = await world.sender(sender);
              const answers = await Promise.all(CLIENT_EVENTS.map((event) => emitWithAck(socket, event, args)));
              check(socket.connected, () => `the hub closed the connection: ${describeCase(args)}`);
              let wrote = false;
              let settle = false;
              CLIENT_EVENTS.forEach((event, i) => {
                const answer = answers[i] as Record<string, unknown>;
                if (assertAnswer(event, args, answer) && !READ_ONLY_EVENTS.has(event)) {
                  wrote = true;
                  settle ||= 'query' in answer;
                }
              });
              await invariants.afterRun({ cases: () => `${sender}: ${describeCase(args)}`, wrote, settle });
            },
          ),
        ),
      );
      await invariants.endBatch();
    },
    fuzzTimeout(40),
  );

  it(
    'answers mutations of a valid payload of each event (a field dropped, a type changed, a field added, a string or number edited) with a coded error, or accepts what the contract accepts',
    async () => {
      const context = { keys: world.keys, strings: world.strings };
      await checkProperty(
        'client events, mutated valid payloads',
        fc.asyncProperty(
          fc.constantFrom<Sender>('device', 'device', 'device', 'session', 'desk'),
          fc.nat(),
          mutations(context),
          predicate(
            (sender, pick, changes) => `${sender}, seed ${pick}: ${describeCase(changes)}`,
            async (sender: Sender, pick: number, changes: Mutation[]) => {
              const socket = await world.sender(sender);
              const cases = CLIENT_EVENTS.flatMap((event) => {
                const seeds = world.seeds[event];
                const seed = seeds[pick % seeds.length];
                const payload = mutate(seed, changes);
                // A mutation that changed nothing (a value replaced by itself) is no case, nor one
                // past what one Socket.IO packet carries (socket-frames.test.ts sends those).
                const received = wireValue(payload);
                if (caseText(received) === caseText(seed) || !fitsOnePacket(payload)) return [];
                return [{ event, args: payload === undefined ? [] : [payload] }];
              });
              const answers = await Promise.all(cases.map(({ event, args }) => emitWithAck(socket, event, args)));
              check(socket.connected, () => `the hub closed the connection: ${describeCase(changes)}`);
              let wrote = false;
              let settle = false;
              // A write refused past its schema ran its handler: the own state is checked after this run.
              let handled = false;
              cases.forEach(({ event, args }, i) => {
                const answer = answers[i] as Record<string, unknown>;
                if (!assertAnswer(event, args, answer)) {
                  handled ||=
                    !READ_ONLY_EVENTS.has(event) &&
                    CLIENT_EVENT_SPEC[event].request.safeParse(receivedPayload(args)).success;
                  return;
                }
                check(
                  !SIGNED_RECORD_EVENTS.has(event),
                  () => `a changed signed record accepted: ${describeCase(args)}`,
                );
                if (!READ_ONLY_EVENTS.has(event)) {
                  wrote = true;
                  settle ||= 'query' in answer;
                }
              });
              await invariants.afterRun({
                cases: () => `${sender}, seed ${pick}: ${describeCase(changes)}`,
                wrote,
                settle,
                ownEveryRun: handled,
              });
            },
          ),
        ),
      );
      await invariants.endBatch();
    },
    fuzzTimeout(40),
  );

  it(
    'answers an event the protocol does not name with UNKNOWN_EVENT',
    async () => {
      const reserved = new Set([
        'connect',
        'connect_error',
        'disconnect',
        'disconnecting',
        'newListener',
        'removeListener',
      ]);
      const known: ReadonlySet<string> = new Set(CLIENT_EVENTS);
      await checkProperty(
        'client events, unknown event names',
        fc.asyncProperty(
          fc.oneof(
            hostileString(world.strings),
            fc.constantFrom(...CLIENT_EVENTS.map((event) => `${event} `), 'error', 'message'),
          ),
          emitArguments({ keys: world.keys }),
          predicate(
            (event, args) => describeCase([event, ...args]),
            async (event: string, args: unknown[]) => {
              fc.pre(!reserved.has(event) && !known.has(event));
              const answer = await emitWithAck(await world.sender('device'), event, args);
              expect(answer, `${JSON.stringify(event).slice(0, 80)}`).toMatchObject({
                ok: false,
                error: { code: 'UNKNOWN_EVENT' },
              });
              await invariants.afterRun({ cases: () => describeCase([event, ...args]), wrote: false });
            },
          ),
        ),
      );
      await invariants.endBatch();
      console.info(
        `fuzz: client events: answers by code: ${[...tally].map(([label, n]) => `${label} ${n}`).join(', ')}; own-state checks ${invariants.ownChecks}`,
      );
    },
    fuzzTimeout(20),
  );
});
