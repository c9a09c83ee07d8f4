import { afterEach, describe, expect, it, vi } from 'vitest';
import { TypedEmitter } from '../src/typed-emitter.js';

interface Events {
  message: (text: string) => void;
  error: (error: unknown) => void;
}

/** As the HubClient is built: a listener's failure is reported as an `error` event of the same emitter. */
class Reporting extends TypedEmitter<Events> {
  constructor() {
    super((error) => this.emit('error', error));
  }
  send<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    this.emit(event, ...args);
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('TypedEmitter', () => {
  it("reports a listener's failure as an error event, and calls the other listeners", () => {
    const emitter = new Reporting();
    const failure = new Error('listener bug');
    const errors: unknown[] = [];
    const seen: string[] = [];
    emitter.on('error', (error) => errors.push(error));
    emitter.on('message', () => {
      throw failure;
    });
    emitter.on('message', (text) => seen.push(text));
    emitter.send('message', 'hello');
    expect(errors).toEqual([failure]);
    expect(seen).toEqual(['hello']);
  });

  it('does not re-enter error when an error listener throws: its failure is thrown once, in a microtask', () => {
    const later: Array<() => void> = [];
    vi.spyOn(globalThis, 'queueMicrotask').mockImplementation((callback) => later.push(callback));
    const emitter = new Reporting();
    const failure = new Error('error listener bug');
    let calls = 0;
    const seen: unknown[] = [];
    emitter.on('error', () => {
      calls += 1;
      throw failure;
    });
    emitter.on('error', (error) => seen.push(error));
    emitter.send('error', new Error('first'));
    expect(calls).toBe(1);
    expect(seen).toHaveLength(1);
    expect(later).toHaveLength(1);
    expect(() => later[0]?.()).toThrow(failure);
  });
});
