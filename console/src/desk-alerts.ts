// An NCB desk's desktop notifications (the browser's Notification API): one for each notification
// that arrives while the tab is signed in, and one summary of those already pending at sign-in.
// They name the case and the ground, never the statement: what the desk reads stays in the page.
import type { QueryId, QueryView } from '@ncp-hub/protocol';

/** What the browser allows: the Notification API's permission, or `unsupported` without the API. */
export type DesktopPermission = NotificationPermission | 'unsupported';

/** The browser's permission for desktop notifications now. */
export function desktopPermission(): DesktopPermission {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission;
}

/** Asks the browser for the permission; call it from a click (browsers refuse it otherwise). */
export function requestDesktopPermission(): Promise<NotificationPermission> {
  return Notification.requestPermission();
}

/** A desktop notification to raise: a query newly notified, or the summary of those pending at sign-in. */
export type DeskAlert = { kind: 'query'; query: QueryView } | { kind: 'summary'; count: number };

/** What a desk knows, as {@link QueryBook} holds it. */
export interface DeskNotifications {
  /** The ids notified, in the order they came. */
  notified: readonly QueryId[];
  queries: ReadonlyMap<QueryId, QueryView>;
  /** The notifications still to acknowledge. */
  pending: readonly QueryView[];
}

/**
 * Which desktop notifications to raise, and each once: a notification arriving after the start
 * (sign-in) raises one of its own; those known at the start raise together a single summary, the
 * first time desktop notifications are permitted while some of them are still pending.
 */
export class DeskAlertPlan {
  readonly #atStart: ReadonlySet<QueryId>;
  readonly #seen: Set<QueryId>;
  #summarised = false;

  /** `known`: the desk as it was at sign-in. */
  constructor(known: DeskNotifications) {
    this.#atStart = new Set(known.notified);
    this.#seen = new Set(known.notified);
  }

  /**
   * The alerts for what changed since the last call. Notifications that arrive while desktop
   * notifications are not permitted are passed over (permitting later does not replay them).
   */
  next(desk: DeskNotifications, permitted: boolean): DeskAlert[] {
    const alerts: DeskAlert[] = [];
    if (permitted && !this.#summarised) {
      const count = desk.pending.filter((view) => this.#atStart.has(view.id)).length;
      if (count > 0) alerts.push({ kind: 'summary', count });
      this.#summarised = true;
    }
    for (const id of desk.notified) {
      if (this.#seen.has(id)) continue;
      this.#seen.add(id);
      const query = desk.queries.get(id);
      if (permitted && query) alerts.push({ kind: 'query', query });
    }
    return alerts;
  }
}

/** The words of a desktop notification, in the desk's language. */
export interface DeskAlertWords {
  lang: string;
  title: string;
  body: string;
}

/**
 * Raises `alert` as a desktop notification; clicking it brings this tab to the front. The
 * `tag` makes a repeated one replace the earlier instead of stacking up.
 */
export function showDeskAlert(alert: DeskAlert, words: DeskAlertWords): void {
  const tag = alert.kind === 'query' ? `ncp-query-${alert.query.id}` : 'ncp-pending';
  const shown = new Notification(words.title, { body: words.body, lang: words.lang, tag });
  shown.onclick = () => {
    window.focus();
    shown.close();
  };
}
