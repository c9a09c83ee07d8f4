import type { EventEntries, RealtimeServices } from './event-entry.js';

type QueryEvent =
  | 'query:open'
  | 'query:acknowledge'
  | 'query:file'
  | 'query:confirm'
  | 'query:withdraw'
  | 'query:get'
  | 'query:pending';

/** The operational-query events. */
export function queryEntries(services: Pick<RealtimeServices, 'queries'>): EventEntries<QueryEvent> {
  const { queries } = services;
  return {
    'query:open': {
      needs: 'published-device',
      limit: 'write',
      async handle(payload, { identity, device, announce }) {
        const opened = await queries.open(identity, device, payload);
        announce.membership({
          conversation: opened.conversation,
          record: opened.record,
          added: opened.conversation.members,
          removed: [],
        });
        announce.item(opened.question);
        return { query: opened.query, conversation: opened.conversation, receipt: opened.receipt };
      },
    },
    'query:acknowledge': {
      needs: 'session',
      limit: 'write',
      handle: async ({ query }, { identity }) => ({ query: await queries.acknowledge(identity, query) }),
    },
    'query:file': {
      needs: 'session',
      limit: 'write',
      handle: async ({ query, filing }, { identity }) => ({ query: await queries.file(identity, query, filing) }),
    },
    'query:confirm': {
      needs: 'session',
      limit: 'write',
      handle: async ({ query }, { identity }) => ({ query: await queries.confirm(identity, query) }),
    },
    'query:withdraw': {
      needs: 'session',
      limit: 'write',
      handle: async ({ query, reason }, { identity }) => ({ query: await queries.withdraw(identity, query, reason) }),
    },
    'query:get': { needs: 'session', limit: 'read', handle: ({ query }, { identity }) => queries.get(identity, query) },
    'query:pending': {
      needs: 'session',
      limit: 'read',
      handle: async (_payload, { identity, device }) => ({ events: await queries.pendingFor(identity, device) }),
    },
  };
}
