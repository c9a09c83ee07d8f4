/**
 * Runs tasks one at a time, in the order they were added: what the SDK receives (items,
 * membership changes, syncs) is processed in order, never two at once.
 */
export class TaskQueue {
  private readonly onError: (error: unknown) => void;
  #tail: Promise<unknown> = Promise.resolve();

  /** @param onError - told of the failure of a task added with {@link TaskQueue.add}. */
  constructor(onError: (error: unknown) => void) {
    this.onError = onError;
  }

  /** Runs `task` after every task before it; its outcome goes to the caller. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(task);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Runs `task` after every task before it, in the background; a failure is reported. */
  add(task: () => Promise<unknown>): void {
    this.run(task).catch((error: unknown) => this.onError(error));
  }

  /** Resolves once every task added so far has finished. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}

/**
 * Tasks of one key run one at a time, in the order they were added; tasks of different keys
 * run side by side (e.g. the sends of one conversation, each with the next sequence number).
 */
export class KeyedTaskQueue<K> {
  readonly #tails = new Map<K, Promise<unknown>>();

  /** Runs `task` after every task of `key` before it; its outcome goes to the caller. */
  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const run = (this.#tails.get(key) ?? Promise.resolve()).then(task);
    const tail = run.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return run;
  }
}
