/** Listener signatures by event name. */
export type EventMap<Events> = { [E in keyof Events]: (...args: never[]) => void };

/** Emits one of `Events`: what a part of the SDK is given to report through the client. */
export type Emit<Events extends EventMap<Events>> = <E extends keyof Events>(
  event: E,
  ...args: Parameters<Events[E]>
) => void;

/**
 * A minimal typed event emitter that runs in Node and in browsers. A listener that throws
 * does not stop the others; its error goes to the handler given at construction (the
 * HubClient's emits it as an `error` event). A listener of `error` that throws is the one
 * exception: reporting its failure as an `error` would call it again, without end. Its
 * failure is thrown again in a microtask instead, once: an uncaught exception (Node's
 * `uncaughtException`, a browser's `error` event), as Node's own EventEmitter does with an
 * error that nobody handles.
 */
export class TypedEmitter<Events extends EventMap<Events>> {
  private readonly onListenerError: (error: unknown) => void;
  readonly #listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  constructor(onListenerError: (error: unknown) => void = () => {}) {
    this.onListenerError = onListenerError;
  }

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    const set = this.#listeners.get(event) ?? new Set();
    this.#listeners.set(event, set);
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Adds a listener called at most once. */
  once<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    const wrapped = ((...args: Parameters<Events[E]>) => {
      this.off(event, wrapped);
      (listener as (...a: Parameters<Events[E]>) => void)(...args);
    }) as Events[E];
    return this.on(event, wrapped);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) {
      try {
        (listener as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (error) {
        if (event === 'error') {
          queueMicrotask(() => {
            throw error;
          });
        } else {
          this.onListenerError(error);
        }
      }
    }
  }
}
