import type { HubClient } from '@ncp-hub/client-sdk';
import { useEffect, useState } from 'preact/hooks';
import { type DevIdentity, fetchDevIdentities } from '../dev-api.js';
import type { Translate } from '../i18n/index.js';
import { describeError, Session } from '../session.js';
import { Heading } from './heading.js';

interface Props {
  t: Translate;
  identities: DevIdentity[] | undefined | 'loading';
  onSignedIn: (session: Session) => void;
}

/** Development: one button per identity. Production: token, enrolment request, attestation. */
export function SignIn({ t, identities, onSignedIn }: Props) {
  const [busy, setBusy] = useState<string | undefined>();
  const [error, setError] = useState<string | undefined>();

  const signIn = async (who: DevIdentity) => {
    setBusy(`${who.agency}/${who.officer}`);
    setError(undefined);
    try {
      onSignedIn(await Session.signInDev(who));
    } catch (failure) {
      setError(t('signIn.failed', { reason: describeError(failure) }));
      setBusy(undefined);
    }
  };

  return (
    <section aria-labelledby="view-title" class="view sign-in">
      <Heading>{t('signIn.title')}</Heading>
      {identities === 'loading' && <p>{t('signIn.loading')}</p>}
      {Array.isArray(identities) && (
        <>
          <p>{t('signIn.dev.intro')}</p>
          <ul class="identities" aria-label={t('signIn.dev.list')}>
            {identities.map((who) => {
              const key = `${who.agency}/${who.officer}`;
              return (
                <li key={key}>
                  <button
                    type="button"
                    class="identity"
                    data-officer={who.officer}
                    disabled={busy !== undefined}
                    onClick={() => signIn(who)}
                  >
                    <span class="visually-hidden">{t('signIn.dev.as')} </span>
                    <span class="officer">{who.officer}</span>
                    <span class="label">{who.label}</span>
                    <span class="agency">
                      {who.agency} · {who.roles.join(', ')}
                    </span>
                  </button>
                </li>
              );
            })}
          </ul>
          {busy && <p role="status">{t('signIn.working')}</p>}
        </>
      )}
      {identities === undefined && <TokenSignIn t={t} onSignedIn={onSignedIn} onError={setError} />}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}

/** The production path (basic in this slice): a pasted token and a pasted attestation. */
function TokenSignIn({
  t,
  onSignedIn,
  onError,
}: {
  t: Translate;
  onSignedIn: (session: Session) => void;
  onError: (error: string | undefined) => void;
}) {
  const [agency, setAgency] = useState('');
  const [officer, setOfficer] = useState('');
  const [token, setToken] = useState('');
  const [attestation, setAttestation] = useState('');
  const [client, setClient] = useState<HubClient | undefined>();
  const [request, setRequest] = useState<string>('');
  const [fingerprint, setFingerprint] = useState<string>('');

  const generate = async (event: Event) => {
    event.preventDefault();
    onError(undefined);
    try {
      const prepared = await Session.prepareDevice({ agency, officer }, token.trim());
      setClient(prepared);
      setRequest(JSON.stringify({ agency, officer, ...prepared.publicKeys() }, null, 2));
      setFingerprint(await prepared.fingerprint());
    } catch (failure) {
      onError(t('signIn.failed', { reason: describeError(failure) }));
    }
  };

  const connect = async (event: Event) => {
    event.preventDefault();
    if (!client) return;
    onError(undefined);
    try {
      onSignedIn(
        await Session.signInWithToken(
          { agency, officer, mode: 'token', token: token.trim(), attestation: attestation.trim() },
          client,
        ),
      );
    } catch (failure) {
      onError(t('signIn.failed', { reason: describeError(failure) }));
    }
  };

  return (
    <>
      <p>{t('signIn.prod.intro')}</p>
      <form onSubmit={generate} class="stack">
        <label>
          {t('signIn.prod.agency')}
          <input required value={agency} onInput={(e) => setAgency(e.currentTarget.value)} autocomplete="off" />
        </label>
        <label>
          {t('signIn.prod.officer')}
          <input required value={officer} onInput={(e) => setOfficer(e.currentTarget.value)} autocomplete="off" />
        </label>
        <label>
          {t('signIn.prod.token')}
          <textarea required rows={3} value={token} onInput={(e) => setToken(e.currentTarget.value)} />
        </label>
        <button type="submit">{t('signIn.prod.generate')}</button>
      </form>
      {client && (
        <form onSubmit={connect} class="stack">
          <label>
            {t('signIn.prod.request')}
            <textarea readOnly rows={6} value={request} />
          </label>
          <p>
            {t('signIn.prod.fingerprint')}: <code>{fingerprint}</code>
          </p>
          <label>
            {t('signIn.prod.attestation')}
            <textarea required rows={3} value={attestation} onInput={(e) => setAttestation(e.currentTarget.value)} />
          </label>
          <button type="submit">{t('signIn.prod.connect')}</button>
        </form>
      )}
    </>
  );
}

/** Asks the hub once whether it is in development mode (its identities) or not (`undefined`). */
export function useDevIdentities(): DevIdentity[] | undefined | 'loading' {
  const [identities, setIdentities] = useState<DevIdentity[] | undefined | 'loading'>('loading');
  useEffect(() => {
    fetchDevIdentities().then(setIdentities, () => setIdentities(undefined));
  }, []);
  return identities;
}
