import { MAX_TEXT_LENGTH } from '@ncp-hub/client-sdk';
import type { Ground } from '@ncp-hub/protocol';
import { useState } from 'preact/hooks';
import type { Translate } from '../i18n/index.js';
import { GROUND_CHOICES, refusalKey } from '../queries.js';
import { navigate } from '../router.js';
import { describeError, type Session } from '../session.js';
import { type Counterpart, CounterpartField, chosen, NO_COUNTERPART } from './counterpart-field.js';
import { Heading } from './heading.js';

/**
 * The operational query form: the counterpart (an officer of another state's agency), the case
 * reference, one of the three grounds in its legal wording, the statement of the specific
 * grounds (for the NCB desks) and the question. A refusal is explained in words.
 */
export function NewQuery({ t, session }: { t: Translate; session: Session }) {
  const [counterpart, setCounterpart] = useState<Counterpart>(NO_COUNTERPART);
  const [caseReference, setCaseReference] = useState('');
  const [ground, setGround] = useState<Ground | ''>('');
  const [statement, setStatement] = useState('');
  const [question, setQuestion] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const member = chosen(counterpart);
    if (!member || !ground) return;
    setBusy(true);
    setError(undefined);
    try {
      const query = await session.queries.open({
        counterpart: member,
        caseReference: caseReference.trim(),
        ground,
        statement,
        question,
      });
      navigate(`/q/${query.id}`);
    } catch (failure) {
      const key = refusalKey(failure);
      setError(t('query.refused', { reason: key ? t(key) : describeError(failure) }));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>{t('query.new.title')}</Heading>
      <p class="hint">{t('query.new.intro')}</p>
      <form class="stack" onSubmit={submit}>
        <CounterpartField
          t={t}
          session={session}
          label={t('query.new.counterpart')}
          scope="state"
          value={counterpart}
          onChange={setCounterpart}
        />
        <label>
          {t('new.caseReference')}
          <input
            required
            maxLength={200}
            value={caseReference}
            onInput={(e) => setCaseReference(e.currentTarget.value)}
            name="caseReference"
          />
        </label>
        <fieldset class="grounds">
          <legend>{t('query.new.ground')}</legend>
          {GROUND_CHOICES.map((choice) => (
            <label key={choice} class="choice">
              <input
                type="radio"
                name="ground"
                value={choice}
                required
                checked={ground === choice}
                onChange={() => setGround(choice)}
              />
              <span>
                <strong>{t(`ground.${choice}`)}</strong>
                <span class="legal">{t(`ground.${choice}.legal`)}</span>
              </span>
            </label>
          ))}
        </fieldset>
        {/* Not `required`: an empty statement is refused by the SDK, and the refusal said in words. */}
        <label>
          {t('query.new.statement')}
          <span class="hint">{t('query.new.statementHelp')}</span>
          <textarea
            aria-required="true"
            rows={4}
            maxLength={MAX_TEXT_LENGTH}
            value={statement}
            onInput={(e) => setStatement(e.currentTarget.value)}
            name="statement"
          />
        </label>
        <label>
          {t('query.new.question')}
          <textarea
            required
            rows={3}
            maxLength={MAX_TEXT_LENGTH}
            value={question}
            onInput={(e) => setQuestion(e.currentTarget.value)}
            name="question"
          />
        </label>
        <div class="actions">
          <button type="submit" disabled={busy}>
            {busy ? t('query.new.opening') : t('query.new.open')}
          </button>
          <a class="button secondary" href="#/">
            {t('new.cancel')}
          </a>
        </div>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
    </section>
  );
}
