import type { QueryView } from '@ncp-hub/protocol';
import { useState } from 'preact/hooks';
import type { Language, Translate } from '../i18n/index.js';
import { refusalKey } from '../queries.js';
import { describeError, type Session } from '../session.js';
import { absoluteTime } from './deadline.js';
import { Heading } from './heading.js';
import { QueryTracks } from './query.js';

/** One notification: the ground, the two agencies, the case, the decrypted statement, Acknowledge. */
function Notification({
  t,
  language,
  session,
  query,
}: {
  t: Translate;
  language: Language;
  session: Session;
  query: QueryView;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const statement = session.queries.statements.get(query.id);
  const toAcknowledge = session.queries.mustAcknowledge(query);
  const acknowledge = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await session.queries.acknowledge(query.id);
    } catch (failure) {
      const key = refusalKey(failure);
      setError(t('ncb.ackFailed', { reason: key ? t(key) : describeError(failure) }));
    }
    setBusy(false);
  };
  const headingId = `notification-${query.id}`;
  return (
    <li class="notification" data-query={query.id} aria-labelledby={headingId}>
      <h2 id={headingId}>{t('ncb.notification', { caseReference: query.caseReference })}</h2>
      <dl class="facts">
        <div>
          <dt>{t('query.ground')}</dt>
          <dd data-ground={query.ground}>
            {t(`ground.${query.ground}`)} <span class="legal">{t(`ground.${query.ground}.legal`)}</span>
          </dd>
        </div>
        <div>
          <dt>{t('ncb.from')}</dt>
          <dd>
            {query.requester.officer} ({query.requester.agency}, {query.requesterCountry})
          </dd>
        </div>
        <div>
          <dt>{t('ncb.to')}</dt>
          <dd>
            {query.counterpart.officer} ({query.counterpart.agency}, {query.counterpartCountry})
          </dd>
        </div>
        <div>
          <dt>{t('ncb.openedAt')}</dt>
          <dd>
            <time dateTime={new Date(query.openedAt).toISOString()}>{absoluteTime(language, query.openedAt)}</time>
          </dd>
        </div>
      </dl>
      <h3>{t('ncb.statement')}</h3>
      {statement === undefined ? (
        <p>{t('ncb.decrypting')}</p>
      ) : 'text' in statement ? (
        <blockquote class="statement">{statement.text}</blockquote>
      ) : (
        <p class="error">{t('ncb.undecryptable', { reason: statement.error })}</p>
      )}
      <QueryTracks t={t} language={language} query={query} />
      {toAcknowledge && (
        <button type="button" onClick={acknowledge} disabled={busy}>
          {t('ncb.acknowledge')}
        </button>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </li>
  );
}

/** The NCB desk: notifications arriving live (and those pending since sign-in), each to acknowledge. */
export function NcbDesk({ t, language, session }: { t: Translate; language: Language; session: Session }) {
  const book = session.queries;
  const notified = book.notified.map((id) => book.queries.get(id)).filter((q): q is QueryView => q !== undefined);
  const pending = book.pending.length;
  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>{t('ncb.title')}</Heading>
      <p role="status" aria-live="polite" data-pending={pending}>
        {pending === 0 ? t('ncb.nonePending') : t('ncb.pending', { count: pending })}
      </p>
      {notified.length > 0 && (
        <ul class="notifications">
          {[...notified].reverse().map((query) => (
            <Notification key={query.id} t={t} language={language} session={session} query={query} />
          ))}
        </ul>
      )}
    </section>
  );
}
