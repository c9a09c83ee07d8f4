import type { ConversationId } from '@ncp-hub/protocol';
import type { ConversationService } from '../conversations/conversation-service.js';

/** Most conversations remembered before the cache starts again. */
const MAX_REMEMBERED = 10_000;

/**
 * Which query a conversation belongs to (null: none), remembered in this process: every
 * stored message asks, to notice a query's answer, and the answer never changes.
 */
export class ConversationQueryCache {
  private readonly conversations: ConversationService;
  readonly #queryOf = new Map<ConversationId, string | null>();

  constructor(conversations: ConversationService) {
    this.conversations = conversations;
  }

  /** Notes the query of a conversation just opened. */
  remember(conv: ConversationId, query: string): void {
    this.#queryOf.set(conv, query);
  }

  /** The query of a conversation, or null. */
  async queryOf(conv: ConversationId): Promise<string | null> {
    const known = this.#queryOf.get(conv);
    if (known !== undefined) return known;
    const query = await this.conversations.queryOf(conv);
    if (this.#queryOf.size > MAX_REMEMBERED) this.#queryOf.clear();
    this.#queryOf.set(conv, query);
    return query;
  }
}
