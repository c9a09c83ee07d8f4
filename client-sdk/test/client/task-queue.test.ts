import { describe, expect, it } from 'vitest';
import { KeyedTaskQueue, TaskQueue } from '../../src/client/task-queue.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('TaskQueue', () => {
  it('runs tasks one at a time, in the order they were added', async () => {
    const queue = new TaskQueue(() => {});
    const log: string[] = [];
    let running = 0;
    const task = (name: string) => async () => {
      running += 1;
      expect(running).toBe(1);
      log.push(`${name} start`);
      await tick();
      log.push(`${name} end`);
      running -= 1;
      return name;
    };
    const results = await Promise.all([queue.run(task('a')), queue.run(task('b')), queue.run(task('c'))]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
  });

  it("gives a run task's failure to its caller only, and goes on with the next", async () => {
    const reported: unknown[] = [];
    const queue = new TaskQueue((error) => reported.push(error));
    const failed = queue.run(async () => {
      throw new Error('no');
    });
    const next = queue.run(async () => 'next');
    await expect(failed).rejects.toThrow('no');
    await expect(next).resolves.toBe('next');
    expect(reported).toEqual([]);
  });

  it('reports the failure of a task added in the background', async () => {
    const reported: unknown[] = [];
    const queue = new TaskQueue((error) => reported.push(error));
    const failure = new Error('background');
    queue.add(async () => {
      throw failure;
    });
    await queue.idle();
    await tick();
    expect(reported).toEqual([failure]);
  });

  it('is idle once every task added so far has finished', async () => {
    const queue = new TaskQueue(() => {});
    const done: number[] = [];
    for (const n of [1, 2, 3]) {
      queue.add(async () => {
        await tick();
        done.push(n);
      });
    }
    await queue.idle();
    expect(done).toEqual([1, 2, 3]);
  });
});

describe('KeyedTaskQueue', () => {
  it('runs the tasks of one key one at a time, and those of other keys side by side', async () => {
    const queue = new KeyedTaskQueue<string>();
    const log: string[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const first = queue.run('a', async () => {
      log.push('a1 start');
      await held;
      log.push('a1 end');
    });
    const second = queue.run('a', async () => {
      log.push('a2');
    });
    await queue.run('b', async () => {
      log.push('b1');
    });
    expect(log).toEqual(['a1 start', 'b1']);
    release();
    await Promise.all([first, second]);
    expect(log).toEqual(['a1 start', 'b1', 'a1 end', 'a2']);
  });

  it("gives a task's failure to its caller only, and goes on with the next of its key", async () => {
    const queue = new KeyedTaskQueue<string>();
    const failed = queue.run('a', async () => {
      throw new Error('no');
    });
    const next = queue.run('a', async () => 'next');
    await expect(failed).rejects.toThrow('no');
    await expect(next).resolves.toBe('next');
  });
});
