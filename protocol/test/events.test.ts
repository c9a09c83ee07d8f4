import { describe, expect, it } from 'vitest';
import {
  CLIENT_EVENT_SPEC,
  CLIENT_EVENTS,
  conversationItemSchema,
  EVENTS,
  SERVER_EVENT_SPEC,
  SERVER_EVENTS,
} from '../src/index.js';

describe('the event specification', () => {
  it('derives the event lists from the one specification, and EVENTS names each once', () => {
    expect(CLIENT_EVENTS).toEqual(Object.keys(CLIENT_EVENT_SPEC));
    expect(SERVER_EVENTS).toEqual(Object.keys(SERVER_EVENT_SPEC));
    expect(CLIENT_EVENTS.filter((event) => (SERVER_EVENTS as string[]).includes(event))).toEqual([]);
    expect(new Set(Object.values(EVENTS))).toEqual(new Set([...CLIENT_EVENTS, ...SERVER_EVENTS]));
    for (const event of CLIENT_EVENTS) {
      expect(CLIENT_EVENT_SPEC[event].request.safeParse).toBeTypeOf('function');
      expect(CLIENT_EVENT_SPEC[event].response.safeParse).toBeTypeOf('function');
    }
  });

  it('validates frames in both directions: a request and a hub frame of the wrong shape are refused', () => {
    expect(CLIENT_EVENT_SPEC['conversation:sync'].request.safeParse({ conv: 'x', after: null }).success).toBe(false);
    expect(
      CLIENT_EVENT_SPEC['conversation:sync'].request.safeParse({ conv: 'AAAAAAAAAAAAAAAAAAAAAA', after: null }).success,
    ).toBe(true);
    expect(
      CLIENT_EVENT_SPEC['conversation:sync'].request.safeParse({
        conv: 'AAAAAAAAAAAAAAAAAAAAAA',
        after: null,
        limit: 501,
      }).success,
    ).toBe(false);
    expect(
      SERVER_EVENT_SPEC['directory:updated'].safeParse({ officer: { agency: 'PL-KGP', officer: 'anna' } }).success,
    ).toBe(false);
    expect(
      SERVER_EVENT_SPEC['directory:updated'].safeParse({
        officer: { agency: 'PL-KGP', officer: 'anna' },
        device: 'tablet',
      }).success,
    ).toBe(true);
    const item = { type: 'receipt', conv: 'AAAAAAAAAAAAAAAAAAAAAA', cursor: '1-0', receivedAt: 1, envelope: {} };
    expect(conversationItemSchema.safeParse(item).success).toBe(false);
    expect(conversationItemSchema.safeParse({ ...item, type: 'other' }).success).toBe(false);
  });
});
