/**
 * The NCB desk's board (console/src/ncb-board.ts): the next deadline of a query on each of its
 * tracks' states, the order of the board (nearest deadline first, those waiting on nothing last),
 * the filters; and which desktop notifications the desk raises (console/src/desk-alerts.ts): one
 * per notification arriving after sign-in, one summary of those pending at sign-in.
 */
import type { QueryView } from '@ncp-hub/protocol';
import { describe, expect, it } from 'vitest';
import { DeskAlertPlan, type DeskNotifications } from '../src/desk-alerts.js';
import { boardRows, DEFAULT_FILTER, isDefaultFilter, matchesFilter, nextDeadline } from '../src/ncb-board.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.UTC(2026, 11, 2, 9);

/** A query opened at `openedAt`, the NCB due 4 h later, the formal request `days` later. */
function query(id: string, changes: Partial<QueryView> = {}, openedAt = T0, days = 10): QueryView {
  const base: QueryView = {
    id,
    status: 'OPEN',
    ground: 'THREAT_TO_LIFE',
    caseReference: `case-${id}`,
    requester: { agency: 'UA-NPU', officer: 'ua.officer' },
    requesterCountry: 'UA',
    counterpart: { agency: 'PL-KGP', officer: 'pl.officer' },
    counterpartCountry: 'PL',
    conversation: `conv-${id}`,
    statement: {} as QueryView['statement'],
    ncb: {
      agency: 'NCB-UA',
      alsoInformed: [],
      state: 'NOTIFIED',
      dueAt: openedAt + 4 * HOUR,
      acknowledgedBy: null,
      acknowledgedAt: null,
    },
    formalRequest: {
      state: 'AWAITING',
      deadline: openedAt + days * DAY,
      filing: null,
      confirmedBy: null,
      confirmedAt: null,
    },
    answeredAt: null,
    withdrawal: null,
    openedAt,
    closedAt: null,
  };
  return { ...base, ...changes };
}

const acknowledged = (view: QueryView): QueryView => ({
  ...view,
  ncb: { ...view.ncb, state: 'ACKNOWLEDGED', acknowledgedAt: view.openedAt + HOUR },
});
const formal = (view: QueryView, state: QueryView['formalRequest']['state']): QueryView => ({
  ...view,
  formalRequest: { ...view.formalRequest, state },
});

describe('nextDeadline', () => {
  it('is the NCB acknowledgement while not acknowledged, overdue once the hub says so or the time has passed', () => {
    const view = query('a');
    expect(nextDeadline(view, T0)).toEqual({ track: 'ncb', at: T0 + 4 * HOUR, overdue: false });
    expect(nextDeadline(view, T0 + 4 * HOUR)?.overdue).toBe(true);
    const late = { ...view, ncb: { ...view.ncb, state: 'ACK_OVERDUE' as const } };
    expect(nextDeadline(late, T0)).toEqual({ track: 'ncb', at: T0 + 4 * HOUR, overdue: true });
  });

  it('is the formal request once acknowledged, until confirmed; filed is no longer overdue', () => {
    const view = acknowledged(query('a'));
    expect(nextDeadline(view, T0)).toEqual({ track: 'formal-request', at: T0 + 10 * DAY, overdue: false });
    expect(nextDeadline(view, T0 + 10 * DAY)?.overdue).toBe(true);
    expect(nextDeadline(formal(view, 'OVERDUE'), T0)?.overdue).toBe(true);
    expect(nextDeadline(formal(view, 'FILED'), T0 + 11 * DAY)).toEqual({
      track: 'formal-request',
      at: T0 + 10 * DAY,
      overdue: false,
    });
    expect(nextDeadline(formal(view, 'CONFIRMED'), T0)).toBeUndefined();
  });

  it('is none once the query is closed or withdrawn', () => {
    expect(nextDeadline(query('a', { status: 'WITHDRAWN' }), T0)).toBeUndefined();
    expect(nextDeadline({ ...formal(acknowledged(query('a')), 'CONFIRMED'), status: 'CLOSED' }, T0)).toBeUndefined();
  });
});

describe('boardRows', () => {
  it('puts the nearest next deadline first, whichever track it is on, then those waiting on nothing, the latest opened first', () => {
    const early = query('early', {}, T0); // NCB due T0 + 4 h
    const later = query('later', {}, T0 + HOUR); // NCB due T0 + 5 h
    const formalSoon = acknowledged(query('formal', {}, T0 - 10 * DAY + 2 * HOUR)); // formal due T0 + 2 h
    const acknowledgedFar = acknowledged(query('far', {}, T0, 20)); // formal due T0 + 20 d
    const withdrawnOld = query('w-old', { status: 'WITHDRAWN' }, T0 - 3 * DAY);
    const withdrawnNew = query('w-new', { status: 'WITHDRAWN' }, T0 - DAY);
    const all = [withdrawnOld, acknowledgedFar, later, withdrawnNew, early, formalSoon];
    const ids = (filter = { ...DEFAULT_FILTER, status: 'ANY' as const }) =>
      boardRows(all, filter, T0).map((row) => row.query.id);
    expect(ids()).toEqual(['formal', 'early', 'later', 'far', 'w-new', 'w-old']);
    // An acknowledgement moves a query down to its formal-request deadline.
    all.splice(all.indexOf(early), 1, acknowledged(early));
    expect(ids()).toEqual(['formal', 'later', 'early', 'far', 'w-new', 'w-old']);
  });

  it('orders equal deadlines by opening, then id, whatever the input order', () => {
    const a = query('a', {}, T0);
    const b = query('b', {}, T0);
    const c = { ...query('c', {}, T0 - HOUR), ncb: { ...query('c').ncb } }; // due as a and b, opened earlier
    expect(boardRows([b, a, c], DEFAULT_FILTER, T0).map((r) => r.query.id)).toEqual(['c', 'a', 'b']);
    expect(boardRows([c, b, a], DEFAULT_FILTER, T0).map((r) => r.query.id)).toEqual(['c', 'a', 'b']);
  });

  it('filters by status (OPEN by default), ground, and the state of each track', () => {
    const open = query('open', { ground: 'IRREVERSIBLE_LOSS' });
    const closed = query('closed', { status: 'CLOSED' });
    const withdrawn = query('withdrawn', { status: 'WITHDRAWN', ground: 'ABSCONDING_RISK' });
    const ack = acknowledged(query('ack'));
    const filed = formal(acknowledged(query('filed')), 'FILED');
    const all = [open, closed, withdrawn, ack, filed];
    const ids = (filter: Partial<typeof DEFAULT_FILTER>) =>
      boardRows(all, { ...DEFAULT_FILTER, ...filter }, T0)
        .map((row) => row.query.id)
        .sort();
    expect(ids({})).toEqual(['ack', 'filed', 'open']);
    expect(ids({ status: 'CLOSED' })).toEqual(['closed']);
    expect(ids({ status: 'ANY', ground: 'ABSCONDING_RISK' })).toEqual(['withdrawn']);
    expect(ids({ ground: 'THREAT_TO_LIFE' })).toEqual(['ack', 'filed']);
    expect(ids({ ncb: 'NOTIFIED' })).toEqual(['open']);
    expect(ids({ ncb: 'ACKNOWLEDGED', formal: 'FILED' })).toEqual(['filed']);
    expect(matchesFilter(open, { ...DEFAULT_FILTER, formal: 'CONFIRMED' })).toBe(false);
    expect(isDefaultFilter({ ...DEFAULT_FILTER })).toBe(true);
    expect(isDefaultFilter({ ...DEFAULT_FILTER, ground: 'ABSCONDING_RISK' })).toBe(false);
  });
});

/** A desk holding `views`, notified in that order, those not acknowledged pending. */
function desk(views: QueryView[]): DeskNotifications {
  return {
    notified: views.map((v) => v.id),
    queries: new Map(views.map((v) => [v.id, v])),
    pending: views.filter((v) => v.ncb.state !== 'ACKNOWLEDGED'),
  };
}

describe('DeskAlertPlan', () => {
  it('raises one summary of those pending at sign-in, then one alert per notification arriving', () => {
    const a = query('a');
    const b = query('b');
    const plan = new DeskAlertPlan(desk([a, b]));
    expect(plan.next(desk([a, b]), true)).toEqual([{ kind: 'summary', count: 2 }]);
    expect(plan.next(desk([a, b]), true)).toEqual([]);
    const c = query('c');
    const d = query('d');
    expect(plan.next(desk([a, b, c, d]), true)).toEqual([
      { kind: 'query', query: c },
      { kind: 'query', query: d },
    ]);
    expect(plan.next(desk([a, b, c, d]), true)).toEqual([]);
  });

  it('raises nothing while not permitted; once permitted, the summary of those still pending, and what comes next', () => {
    const a = query('a');
    const b = query('b');
    const plan = new DeskAlertPlan(desk([a, b]));
    const c = query('c');
    expect(plan.next(desk([a, b, c]), false)).toEqual([]);
    // Permitted after `a` was acknowledged and `c` arrived: `b` is summarised, `c` not replayed.
    expect(plan.next(desk([acknowledged(a), b, c]), true)).toEqual([{ kind: 'summary', count: 1 }]);
    const d = query('d');
    expect(plan.next(desk([acknowledged(a), b, c, d]), true)).toEqual([{ kind: 'query', query: d }]);
  });

  it('raises no summary when nothing was pending at sign-in', () => {
    const plan = new DeskAlertPlan(desk([]));
    const a = query('a');
    expect(plan.next(desk([a]), true)).toEqual([{ kind: 'query', query: a }]);
  });
});
