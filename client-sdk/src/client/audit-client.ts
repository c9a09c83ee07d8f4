import type { AuditEntry, HubKeySet } from '@ncp-hub/keys/audit';
import { auditEntriesAnswerSchema, ClientError, type HubError, hubErrorFromBody, toHubError } from '@ncp-hub/protocol';
import { z } from 'zod';

/** Options of an {@link AuditClient}. */
export interface AuditClientOptions {
  /** The hub's base URL, e.g. `https://hub.example.org` (a trailing `/` is ignored). */
  url: string;
  /**
   * A bearer token of a user with the role `auditor`, or a function giving a fresh one for
   * each request (it is called once per request, so a short-lived token is renewed).
   */
  token: string | (() => string | Promise<string>);
  /**
   * The `fetch` to use (a test's, or one with a proxy agent).
   * @defaultValue `globalThis.fetch`
   */
  fetch?: typeof fetch;
}

/**
 * What `GET /v1/audit/entries` filters on (docs/PROTOCOL.md §7.3). Every field is optional;
 * the entries are always those that involve the auditor's agency.
 */
export interface AuditEntryFilter {
  /**
   * Entries after this chain `seq` only: the `next` of the page before.
   * @defaultValue 0
   */
  after?: number;
  /**
   * At most this many entries (1–500).
   * @defaultValue 100
   */
  limit?: number;
  /** Entries of this query id only. */
  query?: string;
  /** Entries of this officer only: the actor, or the officer an entry is about. */
  officer?: string;
  /** Entries at or after this hub time (ms since the epoch) only. */
  from?: number;
  /** Entries at or before this hub time (ms since the epoch) only. */
  to?: number;
}

/** One page of {@link AuditClient.entries}. */
export interface AuditEntryPage {
  /** Oldest first. */
  entries: AuditEntry[];
  /** The `after` of the next page; `null` at the end of the chain. */
  next: number | null;
}

// The answers are checked for their shape (the protocol's schemas, which /openapi.json publishes):
// the entries' content is the hub's, and the verifier (over the export) is what tells whether it is true.
const hubKeysSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

/**
 * The hub's audit log over HTTP, for users with the role `auditor` (docs/PROTOCOL.md §7.3):
 * the entries that involve their agency, filtered and paged, the export of the whole chain
 * and the hub's public keys to verify it with ({@link verifyAuditExport}). Works in Node.js
 * and in browsers (it needs only `fetch`).
 *
 * Every method rejects with `HUB_UNREACHABLE` (a {@link ClientError}) when the hub cannot be
 * reached, with the hub's error as its class for a refusal (`ROLE_REQUIRED`, a
 * `QueryError`, for a user who is not an auditor; `BAD_REQUEST` for a filter the hub
 * refuses; `INTERNAL` for an error body that is not the hub's, e.g. a proxy's page), and with
 * `INTERNAL` for an answer that is not of the expected shape.
 *
 * @example
 * ```ts
 * const audit = new AuditClient({ url: 'https://hub.example.org', token: () => issueToken() });
 * for (let after = 0; ; ) {
 *   const page = await audit.entries({ after, officer: 'ua.officer' });
 *   for (const entry of page.entries) console.log(entry.seq, entry.type);
 *   if (page.next === null) break;
 *   after = page.next;
 * }
 * const result = await verifyAuditExport(await audit.export(), await audit.hubKeys());
 * ```
 */
export class AuditClient {
  readonly #url: string;
  readonly #token: () => string | Promise<string>;
  readonly #fetch: typeof fetch;

  constructor(options: AuditClientOptions) {
    this.#url = options.url.replace(/\/+$/, '');
    const { token } = options;
    this.#token = typeof token === 'function' ? token : () => token;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /**
   * One page of the entries that involve the auditor's agency, oldest first
   * (`GET /v1/audit/entries`); pass `next` as `after` for the next page.
   *
   * @example
   * ```ts
   * const { entries, next } = await audit.entries({ query: queryId, limit: 50 });
   * ```
   */
  async entries(filter: AuditEntryFilter = {}): Promise<AuditEntryPage> {
    const params = new URLSearchParams();
    for (const name of ['after', 'limit', 'query', 'officer', 'from', 'to'] as const) {
      const value = filter[name];
      if (value !== undefined) params.set(name, String(value));
    }
    const response = await this.#get(`/v1/audit/entries?${params}`, true);
    const page = auditEntriesAnswerSchema.safeParse(await response.json().catch(() => undefined));
    if (!page.success) throw toHubError(page.error);
    return page.data as AuditEntryPage;
  }

  /**
   * The whole chain as JSON Lines (`GET /v1/audit/export`): the entries that involve the
   * auditor's agency in full, the others redacted, and the hub's signed checkpoints, ending on
   * a checkpoint of the head. Give it to {@link verifyAuditExport}, or save it as a `.jsonl`
   * file for `ncp-keys audit verify`.
   *
   * @example
   * ```ts
   * await writeFile('audit.jsonl', await audit.export());
   * ```
   */
  async export(): Promise<string> {
    const response = await this.#get('/v1/audit/export', true);
    return response.text().catch((error: unknown) => {
      throw new ClientError('HUB_UNREACHABLE', 'the hub could not be reached', { cause: error });
    });
  }

  /**
   * The hub's public signing keys (`GET /v1/hub-keys`, no token), which sign the checkpoints.
   * An auditor who pinned the hub key out of band should verify with that one instead: keys
   * fetched from the hub prove only that the hub signed what it serves.
   *
   * @example
   * ```ts
   * const keys = await audit.hubKeys();
   * ```
   */
  async hubKeys(): Promise<HubKeySet> {
    const response = await this.#get('/v1/hub-keys', false);
    const keys = hubKeysSchema.safeParse(await response.json().catch(() => undefined));
    if (!keys.success) throw toHubError(keys.error);
    return keys.data as HubKeySet;
  }

  /** A GET of the hub, answered 2xx; any other answer as the hub's error. */
  async #get(path: string, authorised: boolean): Promise<Response> {
    const headers: Record<string, string> = authorised ? { authorization: `Bearer ${await this.#token()}` } : {};
    const response = await this.#fetch(`${this.#url}${path}`, { headers }).catch((error: unknown) => {
      throw new ClientError('HUB_UNREACHABLE', 'the hub could not be reached', { cause: error });
    });
    if (response.ok) return response;
    const body: unknown = await response.json().catch(() => undefined);
    const error: HubError = hubErrorFromBody((body as { error?: unknown } | undefined)?.error);
    throw error;
  }
}
