import type { QueryView } from '@ncp-hub/protocol';
import { useEffect, useState } from 'preact/hooks';
import type { Language, Translate } from '../i18n/index.js';
import { refusalKey } from '../queries.js';
import { describeError, type Session } from '../session.js';
import { Deadline, useNow } from './deadline.js';
import { Heading } from './heading.js';

/** Who, as `officer (agency)`. */
function who(ref: { agency: string; officer: string }): string {
  return `${ref.officer} (${ref.agency})`;
}

/** The two tracks of a query: the NCB's acknowledgement and the formal request, with their deadlines. */
export function QueryTracks({ t, language, query }: { t: Translate; language: Language; query: QueryView }) {
  const now = useNow();
  const { ncb, formalRequest } = query;
  const ncbDone = ncb.state === 'ACKNOWLEDGED';
  const formalDone = formalRequest.state === 'CONFIRMED';
  return (
    <dl class="tracks">
      <div data-track="ncb" data-state={ncb.state} class={ncb.state === 'ACK_OVERDUE' ? 'overdue' : undefined}>
        <dt>{t('query.track.ncb', { agency: ncb.agency })}</dt>
        <dd>
          <span class="state">{t(`query.ncb.${ncb.state}`)}</span>
          {ncbDone && ncb.acknowledgedBy ? (
            <span> — {t('query.by', { who: who(ncb.acknowledgedBy) })}</span>
          ) : (
            <span>
              {' '}
              — {t('query.due')} <Deadline t={t} language={language} at={ncb.dueAt} now={now} />
            </span>
          )}
        </dd>
      </div>
      <div
        data-track="formal-request"
        data-state={formalRequest.state}
        class={formalRequest.state === 'OVERDUE' ? 'overdue' : undefined}
      >
        <dt>{t('query.track.formalRequest')}</dt>
        <dd>
          <span class="state">{t(`query.formal.${formalRequest.state}`)}</span>
          {!formalDone && (
            <span>
              {' '}
              — {t('query.due')} <Deadline t={t} language={language} at={formalRequest.deadline} now={now} />
            </span>
          )}
        </dd>
      </div>
    </dl>
  );
}

/** A query's follow-up, updated live by the SDK's `query` events. */
export function QueryFollowUp({
  t,
  language,
  session,
  id,
}: {
  t: Translate;
  language: Language;
  session: Session;
  id: string;
}) {
  const query = session.queries.queries.get(id);
  const [error, setError] = useState<string | undefined>();
  useEffect(() => {
    if (query) return;
    session.queries.fetch(id).catch((failure) => {
      const key = refusalKey(failure);
      setError(key ? t(key) : describeError(failure));
    });
  }, [session, id]);

  return (
    <section aria-labelledby="view-title" class="view">
      <p>
        <a href="#/">{t('conversation.back')}</a>
      </p>
      <Heading>{query ? t('query.title', { caseReference: query.caseReference }) : t('query.loading')}</Heading>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {query && (
        <>
          <dl class="facts">
            <div>
              <dt>{t('query.status')}</dt>
              <dd data-status={query.status}>{t(`query.status.${query.status}`)}</dd>
            </div>
            <div>
              <dt>{t('query.ground')}</dt>
              <dd>{t(`ground.${query.ground}`)}</dd>
            </div>
            <div>
              <dt>{t('query.counterpart')}</dt>
              <dd>{who(query.counterpart)}</dd>
            </div>
            <div>
              <dt>{t('query.requester')}</dt>
              <dd>{who(query.requester)}</dd>
            </div>
          </dl>
          <h2>{t('query.tracks')}</h2>
          <div role="status" aria-live="polite">
            <QueryTracks t={t} language={language} query={query} />
          </div>
          <p>
            <a href={`#/c/${query.conversation}`}>{t('query.openConversation')}</a>
          </p>
        </>
      )}
    </section>
  );
}
