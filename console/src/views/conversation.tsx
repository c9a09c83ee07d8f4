import { MAX_TEXT_LENGTH } from '@ncp-hub/client-sdk';
import type { ConversationId } from '@ncp-hub/protocol';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Language, Translate } from '../i18n/index.js';
import { type ChatMessage, describeError, type Session } from '../session.js';
import { type VerifiedNumber, VerifiedNumbers } from '../verified-numbers.js';
import { membersText } from './conversations.js';
import { absoluteTime } from './deadline.js';
import { Heading } from './heading.js';

/**
 * The correspondent's safety number (60 digits in groups of five, as the SDK gives it), fetched
 * when the view opens, with this officer's mark that it was compared out of band. A number that
 * differs from the one marked (a device added, or keys changed) is said, and the details open.
 */
function SafetyNumber({
  t,
  language,
  session,
  officer,
}: {
  t: Translate;
  language: Language;
  session: Session;
  officer: { agency: string; officer: string };
}) {
  const [number, setNumber] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [verified, setVerified] = useState<VerifiedNumber | undefined | 'loading'>('loading');
  const numbers = useMemo(() => new VerifiedNumbers(session.identity), [session]);
  useEffect(() => {
    let live = true;
    session.client.safetyNumber(officer).then(
      (value) => live && setNumber(value),
      (failure) => live && setError(describeError(failure)),
    );
    numbers.get(officer).then(
      (value) => live && setVerified(value),
      () => live && setVerified(undefined),
    );
    return () => {
      live = false;
    };
  }, [session, numbers, officer.agency, officer.officer]);
  // A number marked verified that cannot be computed any more (no device of theirs verifies) has
  // changed as much as one that differs.
  const state =
    verified === 'loading' || (number === undefined && error === undefined)
      ? 'loading'
      : verified === undefined
        ? number === undefined
          ? 'unavailable'
          : 'unverified'
        : verified.number === number
          ? 'verified'
          : 'changed';
  const mark = async () => number && setVerified(await numbers.mark(officer, number));
  const unmark = async () => {
    await numbers.unmark(officer);
    setVerified(undefined);
  };
  const who = `${officer.officer} (${officer.agency})`;
  return (
    <details class="safety-number" data-verification={state} open={state === 'changed'}>
      <summary>
        {t('conversation.safetyNumber', { officer: who })}
        {state === 'verified' && <span class="badge"> ✓ {t('conversation.verified.short')}</span>}
        {state === 'changed' && <span class="badge warning"> ⚠ {t('conversation.verified.changedShort')}</span>}
      </summary>
      {number ? (
        <p>
          <code data-safety-number={number}>{number}</code>
        </p>
      ) : error ? (
        <p>{t('conversation.safetyNumberUnavailable', { reason: error })}</p>
      ) : null}
      <p class="hint">{t('conversation.safetyNumberHelp')}</p>
      <div role="status">
        {state === 'verified' && verified !== 'loading' && verified && (
          <p>✓ {t('conversation.verified.on', { officer: who, at: absoluteTime(language, verified.at) })}</p>
        )}
        {state === 'changed' && <p class="error">⚠ {t('conversation.verified.changed', { officer: who })}</p>}
      </div>
      <div class="actions">
        {(state === 'unverified' || (state === 'changed' && number !== undefined)) && (
          <button type="button" class="secondary" onClick={mark}>
            {t('conversation.verified.mark')}
          </button>
        )}
        {state === 'verified' && (
          <button type="button" class="secondary" onClick={unmark}>
            {t('conversation.verified.unmark')}
          </button>
        )}
      </div>
    </details>
  );
}

function Mark({
  t,
  session,
  conversation,
  message,
}: {
  t: Translate;
  session: Session;
  conversation: ConversationId;
  message: ChatMessage;
}) {
  if (!message.mine) return null;
  if (message.status === 'sending') return <span class="mark">{t('conversation.sending')}</span>;
  if (message.status === 'failed')
    return (
      <span class="mark error">
        {message.interrupted
          ? t('conversation.interrupted')
          : t('conversation.sendFailed', { reason: message.error ?? '' })}{' '}
        <button type="button" class="link" onClick={() => session.resend(conversation, message.id)}>
          {t('conversation.sendAgain')}
        </button>
      </span>
    );
  const receipt = session.receipts.get(message.id);
  const key =
    receipt === 'read' ? 'conversation.read' : receipt === 'delivered' ? 'conversation.delivered' : 'conversation.sent';
  return (
    <span class={`mark ${receipt ?? 'sent'}`} data-mark={receipt ?? 'sent'}>
      {receipt === 'read' ? '✓✓ ' : receipt === 'delivered' ? '✓ ' : ''}
      {t(key)}
    </span>
  );
}

/** A conversation: its messages of this session, their marks, the send box and the safety number. */
export function ConversationView({
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
  const state = session.conversations.get(id);
  const [text, setText] = useState('');
  const list = useRef<HTMLOListElement>(null);
  const count = state?.messages.length ?? 0;

  useEffect(() => {
    session.view(id);
    return () => session.view(undefined);
  }, [session, id]);
  useEffect(() => {
    list.current?.lastElementChild?.scrollIntoView({ block: 'nearest' });
  }, [count]);

  if (!state || state.conversation.members.length === 0) {
    return (
      <section aria-labelledby="view-title" class="view">
        <Heading>{t('conversation.unknown')}</Heading>
        <a href="#/">{t('conversation.back')}</a>
      </section>
    );
  }
  const others = session.others(state.conversation.members);
  const basis = state.conversation.basis;
  const time = new Intl.DateTimeFormat(language, { hour: '2-digit', minute: '2-digit' });

  const submit = (event: Event) => {
    event.preventDefault();
    const value = text.trim();
    if (!value) return;
    setText('');
    void session.send(id, value);
  };

  return (
    <section aria-labelledby="view-title" class="view conversation">
      <a href="#/" class="back">
        ← {t('conversation.back')}
      </a>
      <Heading>{t('conversation.title', { members: membersText(session, state.conversation.members) })}</Heading>
      {basis.type === 'operational-query' && (
        <p>
          <a href={`#/q/${basis.query}`}>{t('conversation.queryFollowUp', { caseReference: basis.caseReference })}</a>
        </p>
      )}
      {others.map((officer) => (
        <SafetyNumber
          key={`${officer.agency}/${officer.officer}`}
          t={t}
          language={language}
          session={session}
          officer={officer}
        />
      ))}
      <h2 class="visually-hidden">{t('conversation.messages')}</h2>
      {state.messages.length === 0 && <p>{t('conversation.noMessages')}</p>}
      <ol class="messages" ref={list} aria-live="polite" aria-label={t('conversation.messages')}>
        {state.messages.map((message) => (
          <li key={message.id} class={message.mine ? 'message mine' : 'message theirs'} data-message-id={message.id}>
            <span class="from">
              {message.mine ? t('conversation.you') : `${message.from.officer} (${message.from.agency})`}
            </span>
            <p class="text">{message.text}</p>
            <span class="meta">
              <time dateTime={new Date(message.at).toISOString()}>{time.format(message.at)}</time>{' '}
              <Mark t={t} session={session} conversation={id} message={message} />
            </span>
          </li>
        ))}
      </ol>
      <form class="send" onSubmit={submit}>
        <label for="compose" class="visually-hidden">
          {t('conversation.compose')}
        </label>
        <input
          id="compose"
          name="message"
          autocomplete="off"
          maxLength={MAX_TEXT_LENGTH}
          value={text}
          placeholder={t('conversation.compose')}
          onInput={(e) => setText(e.currentTarget.value)}
        />
        <button type="submit">{t('conversation.send')}</button>
      </form>
    </section>
  );
}
