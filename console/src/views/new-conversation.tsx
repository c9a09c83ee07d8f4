import { useState } from 'preact/hooks';
import type { DevIdentity } from '../dev-api.js';
import type { Translate } from '../i18n/index.js';
import { navigate } from '../router.js';
import { describeError, type Session } from '../session.js';
import { type Counterpart, CounterpartField, chosen, NO_COUNTERPART } from './counterpart-field.js';
import { Heading } from './heading.js';

/** A direct conversation with an officer of another agency, on a formal request. */
export function NewConversation({
  t,
  session,
  identities,
}: {
  t: Translate;
  session: Session;
  identities: DevIdentity[] | undefined;
}) {
  const development = identities !== undefined;
  const [counterpart, setCounterpart] = useState<Counterpart>(NO_COUNTERPART);
  const [reference, setReference] = useState(development ? 'DEV/2026/1' : '');
  const [caseReference, setCaseReference] = useState(development ? 'DEV-CASE-1' : '');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const member = chosen(counterpart);
    if (!member || member.agency === session.identity.agency) {
      setError(t('new.sameAgency'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const id = await session.createConversation(member, {
        reference: reference.trim(),
        caseReference: caseReference.trim(),
      });
      navigate(`/c/${id}`);
    } catch (failure) {
      setError(t('new.failed', { reason: describeError(failure) }));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>{t('new.title')}</Heading>
      <form class="stack" onSubmit={submit}>
        <CounterpartField
          t={t}
          session={session}
          label={t('new.officer')}
          scope="agency"
          value={counterpart}
          onChange={setCounterpart}
        />
        <label>
          {t('new.reference')}
          <input required maxLength={200} value={reference} onInput={(e) => setReference(e.currentTarget.value)} />
        </label>
        <label>
          {t('new.caseReference')}
          <input
            required
            maxLength={200}
            value={caseReference}
            onInput={(e) => setCaseReference(e.currentTarget.value)}
          />
        </label>
        <div class="actions">
          <button type="submit" disabled={busy}>
            {t('new.create')}
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
