import type { QueryView } from '@ncp-hub/protocol';
import { useEffect, useState } from 'preact/hooks';
import type { Language, Translate } from '../i18n/index.js';
import type { FollowUpAlert } from '../queries.js';
import type { Session } from '../session.js';
import { absoluteTime } from './deadline.js';
import { Heading } from './heading.js';
import { refusalText } from './query-action.js';
import { Fact, QueryFacts, who } from './query-facts.js';

/** Which track is late, in words. */
function trackText(t: Translate, alert: FollowUpAlert, query: QueryView): string {
  if (alert.track === 'ncb') return t('supervisor.track.ncb', { agency: query.ncb.agency });
  if (alert.track === 'webhook')
    return t('supervisor.track.webhook', { agency: String(alert.entry?.detail?.ncb ?? query.ncb.agency) });
  return t('supervisor.track.formal', { number: Number(alert.entry?.detail?.count ?? 0) + 1 });
}

/** Since when the track is late: its deadline (a failed webhook: when it was given up). */
function lateSince(alert: FollowUpAlert, query: QueryView): number {
  if (alert.track === 'ncb') return query.ncb.dueAt;
  if (alert.track === 'webhook') return alert.entry?.at ?? query.openedAt;
  return query.formalRequest.deadline;
}

/**
 * The supervisor's escalations: those of the agency's queries standing now, from the `escalation`
 * events (live, and pending at sign-in: the QueryBook reads `query:pending` on every connection),
 * and the agency's open queries with a track overdue (listed again when an escalation arrives).
 */
export function Supervisor({ t, language, session }: { t: Translate; language: Language; session: Session }) {
  const book = session.queries;
  const escalations = book.standing().filter((alert) => alert.type === 'escalation');
  const [overdue, setOverdue] = useState<QueryView[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const arrived = escalations.map((alert) => alert.id).join(' ');
  useEffect(() => {
    let current = true;
    book.overdue().then(
      (views) => {
        if (!current) return;
        setOverdue(views);
        setError(undefined);
      },
      (failure) => {
        if (current) setError(t('supervisor.failed', { reason: refusalText(t, failure) }));
      },
    );
    return () => {
      current = false;
    };
  }, [book, arrived]);
  // The list as fetched, each query as the book knows it now (events may have moved it on).
  const overdueNow = (overdue ?? [])
    .map((view) => book.queries.get(view.id) ?? view)
    .filter((view) => view.status === 'OPEN');

  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>{t('supervisor.title')}</Heading>
      <p class="hint">{t('supervisor.intro', { agency: session.identity.agency })}</p>
      <h2>{t('supervisor.escalations')}</h2>
      <p role="status" aria-live="polite" data-escalations={escalations.length}>
        {escalations.length === 0
          ? t('supervisor.noEscalation')
          : t('supervisor.escalationCount', { count: escalations.length })}
      </p>
      <ul class="notifications" data-list="escalations">
        {escalations.map((alert) => {
          const query = book.queries.get(alert.query);
          if (!query) return null;
          const headingId = `escalation-${alert.id.replaceAll('.', '-')}`;
          return (
            <li
              key={alert.id}
              class="notification escalation"
              data-query={query.id}
              data-track={alert.track}
              aria-labelledby={headingId}
            >
              <h3 id={headingId}>
                <a href={`#/q/${query.id}`}>{t('supervisor.escalation', { caseReference: query.caseReference })}</a>
              </h3>
              <QueryFacts t={t} language={language} query={query} facts={['ground', 'requester']}>
                <Fact label={t('supervisor.overdueTrack')} class="late">
                  <strong>⚠ {trackText(t, alert, query)}</strong>
                </Fact>
                <Fact label={t('supervisor.since')}>
                  <time dateTime={new Date(lateSince(alert, query)).toISOString()} data-at={lateSince(alert, query)}>
                    {absoluteTime(language, lateSince(alert, query))}
                  </time>
                </Fact>
              </QueryFacts>
            </li>
          );
        })}
      </ul>
      <h2>{t('supervisor.overdue')}</h2>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {overdue === undefined ? (
        !error && <p>{t('supervisor.loading')}</p>
      ) : overdueNow.length === 0 ? (
        <p data-overdue="0">{t('supervisor.noOverdue')}</p>
      ) : (
        <ul class="queries" data-list="overdue">
          {overdueNow.map((query) => (
            <li key={query.id} data-query={query.id}>
              <a href={`#/q/${query.id}`}>
                {t('conversations.queryItem', {
                  caseReference: query.caseReference,
                  counterpart: who(query.counterpart),
                  status: t(`query.status.${query.status}`),
                })}
              </a>
              <span data-overdue-tracks>
                {' — '}
                {t('supervisor.overdueTracks', {
                  tracks: [
                    query.ncb.state === 'ACK_OVERDUE' ? t('query.ncb.ACK_OVERDUE') : undefined,
                    query.formalRequest.state === 'OVERDUE' ? t('query.formal.OVERDUE') : undefined,
                  ]
                    .filter(Boolean)
                    .join(', '),
                })}
              </span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
