import type { QueryView } from '@ncp-hub/protocol';
import type { Translate } from '../i18n/index.js';
import type { Session } from '../session.js';
import { Heading } from './heading.js';

/** Who a conversation is with, as `officer (agency)`. */
export function membersText(session: Session, members: { agency: string; officer: string }[]): string {
  return (
    session
      .others(members)
      .map((m) => `${m.officer} (${m.agency})`)
      .join(', ') || '—'
  );
}

/** A query's reminder and escalation standing, in words beside the query (arriving live too). */
function FollowUpMarks({ t, session, query }: { t: Translate; session: Session; query: QueryView }) {
  const alerts = session.queries.standing(query.id);
  const escalated = alerts.some((alert) => alert.type === 'escalation');
  const reminded = alerts.some((alert) => alert.type === 'reminder');
  if (!escalated && !reminded) return null;
  return (
    <>
      {' '}
      <span class={escalated ? 'badge late' : 'badge'} data-mark={escalated ? 'escalation' : 'reminder'}>
        {t(escalated ? 'followUp.mark.escalation' : 'followUp.mark.reminder')}
      </span>
    </>
  );
}

/** The conversations of this officer, with their unread counts. */
export function Conversations({ t, session }: { t: Translate; session: Session }) {
  const states = [...session.conversations.values()].filter((s) => s.conversation.members.length > 0);
  const queries = [...session.queries.queries.values()].sort((a, b) => b.openedAt - a.openedAt);
  return (
    <section aria-labelledby="view-title" class="view">
      <div class="view-head">
        <Heading>{t('conversations.title')}</Heading>
        <div class="actions">
          <a class="button" href="#/new">
            {t('conversations.new')}
          </a>
          {session.roles.includes('officer') && (
            <a class="button" href="#/query">
              {t('conversations.newQuery')}
            </a>
          )}
        </div>
      </div>
      {queries.length > 0 && (
        <>
          <h2>{t('conversations.queries')}</h2>
          <ul class="queries" aria-live="polite">
            {queries.map((query) => (
              <li key={query.id}>
                <a href={`#/q/${query.id}`} data-query={query.id}>
                  {t('conversations.queryItem', {
                    caseReference: query.caseReference,
                    counterpart: `${query.counterpart.officer} (${query.counterpart.agency})`,
                    status: t(`query.status.${query.status}`),
                  })}
                  <FollowUpMarks t={t} session={session} query={query} />
                </a>
              </li>
            ))}
          </ul>
        </>
      )}
      {states.length === 0 ? (
        <p>{t('conversations.empty')}</p>
      ) : (
        <ul class="conversations">
          {states.map(({ conversation, unread, messages }) => {
            const basis = conversation.basis;
            const last = messages.at(-1);
            return (
              <li key={conversation.id}>
                <a href={`#/c/${conversation.id}`} class="conversation-link">
                  <span class="who">
                    {t('conversations.with', { members: membersText(session, conversation.members) })}
                  </span>
                  <span class="basis">
                    {basis.type === 'formal-request'
                      ? t('conversations.basis', { reference: basis.reference, caseReference: basis.caseReference })
                      : t('conversations.query', { caseReference: basis.caseReference })}
                  </span>
                  {last && <span class="last">{last.text}</span>}
                  {unread.length > 0 && (
                    <span class="badge" data-unread={unread.length}>
                      {t('conversations.unread', { count: unread.length })}
                    </span>
                  )}
                </a>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
