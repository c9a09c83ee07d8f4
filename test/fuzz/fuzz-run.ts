/**
 * How many cases each property runs, with which seed, and the checks every case of every fuzz
 * suite ends with. Sizes: 200 runs per property locally, at least 2,000 with `CI` set, any
 * number with `FUZZ_RUNS` (the long mode: `FUZZ_RUNS=100000`, optionally bounded by
 * `FUZZ_TIME_LIMIT_SECONDS` per property). The seed is fixed (`FUZZ_SEED` overrides it), so a
 * failure is reproduced by running the suite again; fast-check prints the shrunk case and the
 * `seed`/`path` that replay it (`FUZZ_PATH=<path>` runs that one case).
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { POLLUTION_MARKER } from './arbitraries.js';
import type { FuzzWorld } from './world.js';

function positive(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const number = Number(value);
  if (!Number.isInteger(number) || number <= 0) throw new Error(`${name} must be a positive integer`);
  return number;
}

/** Runs per property: `FUZZ_RUNS`, else 2,000 in CI, else 200. */
export const FUZZ_RUNS = positive('FUZZ_RUNS') ?? (process.env.CI ? 2_000 : 200);
/** The fixed seed of every property. */
export const FUZZ_SEED = positive('FUZZ_SEED') ?? 20_260_901;
/** Replays one case: the `path` fast-check printed with a failure (with the same seed), without shrinking. */
const FUZZ_PATH = process.env.FUZZ_PATH || undefined;
/** In the long mode, a time budget per property (its runs stop there and the count is reported). */
const FUZZ_TIME_LIMIT_MS = (positive('FUZZ_TIME_LIMIT_SECONDS') ?? 0) * 1000 || undefined;

/** A test's timeout for `runs` runs of about `msPerRun` each, with room for the setup and a shrink. */
export function fuzzTimeout(msPerRun: number, runs = FUZZ_RUNS): number {
  return Math.min(FUZZ_TIME_LIMIT_MS ?? Number.POSITIVE_INFINITY, runs * msPerRun * 4) + 120_000;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The first failure of the property being checked, before any shrinking. */
let firstFailure: { error: unknown; input: string } | undefined;

/**
 * A property's predicate that remembers its first failure, with its input as given (`describe`):
 * a case that breaks a shared invariant (the sentinel's state) makes every later run fail too,
 * so the case fast-check shrinks to may not be the one that broke it.
 */
export function predicate<A extends unknown[]>(
  describe: (...args: A) => string,
  run: (...args: A) => Promise<void>,
): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await run(...args);
    } catch (error) {
      firstFailure ??= { error, input: describe(...args) };
      throw error;
    }
  };
}

/**
 * Checks an async property with the suite's size and seed, logs how many runs it made and how
 * long they took, and fails with the first failure (its input as generated) and fast-check's
 * report (the shrunk counterexample, the seed and path that replay it).
 */
export async function checkProperty<T>(name: string, property: fc.IAsyncProperty<T>, runs = FUZZ_RUNS): Promise<void> {
  firstFailure = undefined;
  const started = performance.now();
  const details = await fc.check(property, {
    numRuns: runs,
    seed: FUZZ_SEED,
    timeout: 60_000,
    ...(FUZZ_PATH ? { path: FUZZ_PATH, endOnFailure: true } : {}),
    ...(FUZZ_TIME_LIMIT_MS ? { interruptAfterTimeLimit: FUZZ_TIME_LIMIT_MS, markInterruptAsFailure: false } : {}),
  });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.info(
    `fuzz: ${name}: ${details.numRuns} runs (${details.numSkips} skipped) in ${seconds} s, seed ${FUZZ_SEED}`,
  );
  if (!details.failed) return;
  // The reason first, then fast-check's report (its counterexample cut: a case may be huge).
  const reason = messageOf(details.errorInstance);
  let report: string;
  try {
    report = (fc.defaultReportMessage(details) ?? '').replace(/Counterexample: (.{2000}).*/, 'Counterexample: $1…');
  } catch (error) {
    // fast-check's report stringifies the counterexample, which may be too deep to print.
    report = `seed ${FUZZ_SEED}, path ${details.counterexamplePath ?? '?'} (no report: ${messageOf(error)})`;
  }
  const recorded = firstFailure as { error: unknown; input: string } | undefined;
  const first = recorded
    ? `first failure, before shrinking: ${messageOf(recorded.error).slice(0, 4000)}\n  on: ${recorded.input.slice(0, 4000)}\n`
    : '';
  throw new Error(`${name}: ${first}shrunk: ${reason.slice(0, 4000)}\n${report}`, { cause: details.errorInstance });
}

/** The built-in prototypes a pollution would change. */
const PROTOTYPES: Record<string, object> = {
  Object: Object.prototype,
  Array: Array.prototype,
  Function: Function.prototype,
  String: String.prototype,
  Number: Number.prototype,
  Boolean: Boolean.prototype,
  Promise: Promise.prototype,
  RegExp: RegExp.prototype,
  Date: Date.prototype,
  Error: Error.prototype,
  Map: Map.prototype,
  Set: Set.prototype,
  Uint8Array: Uint8Array.prototype,
  Buffer: Buffer.prototype,
};

function prototypeKeys(): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(PROTOTYPES).map(([name, prototype]) => [name, Reflect.ownKeys(prototype).map(String).sort()]),
  );
}

/** Runs between two checks of the sentinel's state and of the liveness of the hub and its sockets. */
const BATCH_RUNS = 25;

/**
 * The invariants every case keeps: prototypes clean (the hub runs in this process, so these are
 * its prototypes too; an enumerable key on `Object.prototype` would also make the hub's strict
 * schemas refuse the canary's `{}`), after every run; what the fuzzing officer holds unchanged
 * unless one of the writes since the last check was accepted, after every run (`ownEveryRun`) or
 * every batch; what the sentinel and the canary conversation hold unchanged, and the hub and
 * every socket alive, after every batch of runs and at the end of each property (a failure then
 * names the batch's cases).
 */
export class Invariants {
  readonly #world: FuzzWorld;
  readonly #prototypes = prototypeKeys();
  #sentinel: unknown;
  #own: unknown;
  #batch: Array<() => string> = [];
  #wrote = false;
  #settle = false;
  /** Checks of the own state that applied (no accepted write since the one before), for the report. */
  ownChecks = 0;

  constructor(world: FuzzWorld) {
    this.#world = world;
  }

  /** Takes the baselines. */
  async start(): Promise<this> {
    this.#sentinel = await this.#world.sentinelState();
    this.#own = await this.#settledOwnState();
    return this;
  }

  /** The clean prototypes, in this process (which is the hub's). */
  assertPrototypesClean(): void {
    const keys = prototypeKeys();
    if (JSON.stringify(keys) !== JSON.stringify(this.#prototypes)) {
      expect(keys, 'no built-in prototype gained or lost a key').toEqual(this.#prototypes);
    }
    const empty = {} as Record<string, unknown>;
    for (const key of [POLLUTION_MARKER, 'toJSON', 'then', 'prototype']) {
      if (empty[key] !== undefined) expect.fail(`({}).${key} is ${String(empty[key])}`);
    }
    if (empty.constructor !== Object || Object.getPrototypeOf(empty) !== Object.prototype) {
      expect.fail("({})'s constructor or prototype changed");
    }
  }

  /**
   * After a run (`cases` describes it, for a failure): `wrote` when one of its writes was
   * accepted (the officer's own state then moves on), `settle` when such a write schedules
   * follow-up steps (a query's), whose effects land a little later; `ownEveryRun` to check the
   * own state now rather than at the end of the batch.
   */
  async afterRun(run: { cases: () => string; wrote: boolean; settle?: boolean; ownEveryRun?: boolean }): Promise<void> {
    this.assertPrototypesClean();
    this.#wrote ||= run.wrote;
    this.#settle ||= run.settle ?? false;
    this.#batch.push(run.cases);
    if (run.ownEveryRun) await this.#checkOwnState(run.cases);
    if (this.#batch.length >= BATCH_RUNS) await this.endBatch();
  }

  /** Every check, after the runs since the last batch. */
  async endBatch(): Promise<void> {
    const batch = this.#batch;
    this.#batch = [];
    const cases = () => `one of the last ${batch.length} runs:\n${batch.map((describe) => describe()).join('\n')}`;
    await this.#checkOwnState(cases);
    const sentinel = await this.#world.sentinelState();
    if (JSON.stringify(sentinel) !== JSON.stringify(this.#sentinel)) {
      expect(sentinel, `the sentinel's state changed, by ${cases()}`).toEqual(this.#sentinel);
    }
    await this.#world.assertAlive().catch((error: unknown) => {
      throw new Error(`the hub or a socket died, after ${cases()}`, { cause: error });
    });
  }

  /** The own state unchanged since the last check, or a new baseline after an accepted write. */
  async #checkOwnState(cases: () => string): Promise<void> {
    if (this.#wrote) {
      this.#own = this.#settle ? await this.#settledOwnState() : await this.#world.ownState();
      this.#wrote = false;
      this.#settle = false;
      return;
    }
    this.ownChecks += 1;
    const own = await this.#world.ownState();
    if (JSON.stringify(own) !== JSON.stringify(this.#own)) {
      expect(own, `a refused case changed the fuzzing officer's state: ${cases()}`).toEqual(this.#own);
    }
  }

  /** The own state once two snapshots 25 ms apart agree (a query's follow-up steps have run). */
  async #settledOwnState(): Promise<unknown> {
    let previous = await this.#world.ownState();
    for (let i = 0; i < 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      const next = await this.#world.ownState();
      if (JSON.stringify(next) === JSON.stringify(previous)) return next;
      previous = next;
    }
    throw new Error("the fuzzing officer's state did not settle");
  }
}
