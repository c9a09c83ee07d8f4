import { randomUUID } from 'node:crypto';
import { HubError } from '@ncp-hub/protocol';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { budgetSize, SharedBudget } from '../src/realtime/rate-limiter.js';

const redis = new Redis(inject('redisUrl'));
// A client that never connects: its status is never `ready`, as during a Redis outage.
const unreachable = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
// Until the connection is ready the budgets count in memory (the insurance), as in an outage.
beforeAll(() => redis.ping());
afterAll(() => {
  redis.disconnect();
  unreachable.disconnect();
});

/** Takes until refused; returns how many were allowed and the refusal. */
async function drain(take: () => Promise<void>, max = 10_000): Promise<{ allowed: number; refusal: HubError }> {
  for (let allowed = 0; allowed < max; allowed++) {
    try {
      await take();
    } catch (error) {
      expect(error).toBeInstanceOf(HubError);
      return { allowed, refusal: error as HubError };
    }
  }
  throw new Error('never refused');
}

describe('budgetSize', () => {
  it('is a window of burst / perSecond seconds holding the burst', () => {
    expect(budgetSize(50, 200)).toEqual({ points: 200, windowSeconds: 4 });
    expect(budgetSize(500, 2000)).toEqual({ points: 2000, windowSeconds: 4 });
    expect(budgetSize(0.1, 5)).toEqual({ points: 5, windowSeconds: 50 });
    expect(budgetSize(1, 40)).toEqual({ points: 40, windowSeconds: 40 });
  });

  it('is at least a second, holding at least perSecond', () => {
    expect(budgetSize(1000, 200)).toEqual({ points: 1000, windowSeconds: 1 });
    expect(budgetSize(2.5, 1)).toEqual({ points: 3, windowSeconds: 1 });
  });
});

describe('SharedBudget', () => {
  const prefix = () => `ncp-test-${randomUUID()}:rate:unit`;

  it('allows its points per key, then refuses with RATE_LIMITED and the time left of the window', async () => {
    const budget = new SharedBudget(redis, prefix(), { points: 5, windowSeconds: 30 }, 'slow down');
    const { allowed, refusal } = await drain(() => budget.take('UA-NPU/a'));
    expect(allowed).toBe(5);
    expect(refusal.toBody()).toEqual({ code: 'RATE_LIMITED', message: 'slow down', retryAfter: expect.any(Number) });
    expect(refusal.retryAfter).toBeGreaterThan(0);
    expect(refusal.retryAfter).toBeLessThanOrEqual(30_000);
    // Another officer has a budget of its own.
    await expect(budget.take('UA-NPU/b')).resolves.toBeUndefined();
  });

  it('is one budget for every instance on the same Redis and prefix (every hub node)', async () => {
    const shared = prefix();
    const nodes = [0, 1].map(() => new SharedBudget(redis, shared, { points: 6, windowSeconds: 30 }));
    let turn = 0;
    const { allowed } = await drain(() => (nodes[turn++ % 2] as SharedBudget).take('UA-NPU/a'));
    expect(allowed).toBe(6);
  });

  it('check refuses a spent key without taking; charge takes past the points', async () => {
    const budget = new SharedBudget(redis, prefix(), { points: 2, windowSeconds: 30 });
    await budget.check('src');
    await budget.check('src');
    await budget.charge('src');
    await budget.check('src');
    await budget.charge('src');
    await budget.charge('src');
    await expect(budget.check('src')).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
  });

  it('counts in memory, with the same size, when Redis cannot answer', async () => {
    const budget = new SharedBudget(unreachable, prefix(), { points: 3, windowSeconds: 30 });
    const { allowed, refusal } = await drain(() => budget.take('UA-NPU/a'));
    expect(allowed).toBe(3);
    expect(refusal.code).toBe('RATE_LIMITED');
  });
});
