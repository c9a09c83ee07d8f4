import { useEffect, useLayoutEffect, useMemo, useState } from 'preact/hooks';
import {
  chooseLanguage,
  initialLanguage,
  LANGUAGES,
  type Language,
  type MessageKey,
  type Translate,
  translate,
} from './i18n/index.js';
import { navigate, useRoute } from './router.js';
import {
  describeError,
  forgetIdentity,
  readTokenClaims,
  Session,
  savedIdentity,
  takeHandOffToken,
  tokenExpired,
  type Warning,
} from './session.js';
import { Auditor } from './views/auditor.js';
import { CentralAuthority } from './views/authority.js';
import { ConversationView } from './views/conversation.js';
import { Conversations } from './views/conversations.js';
import { DeviceView } from './views/device.js';
import { NcbDesk } from './views/ncb-desk.js';
import { NewConversation } from './views/new-conversation.js';
import { NewQuery } from './views/new-query.js';
import { QueryFollowUp } from './views/query.js';
import { SignIn, useDevIdentities } from './views/sign-in.js';
import { Supervisor } from './views/supervisor.js';

/** Re-renders on every change of the session. */
function useSessionVersion(session: Session | undefined): number {
  const [version, setVersion] = useState(0);
  useEffect(() => session?.subscribe(() => setVersion((v) => v + 1)), [session]);
  return version;
}

function Warnings({ t, session }: { t: Translate; session: Session }) {
  return (
    <section class="warnings" aria-labelledby="warnings-title" role="status">
      {session.warnings.length > 0 && (
        <>
          <h2 id="warnings-title">{t('warnings.title')}</h2>
          <ul>
            {session.warnings.map((warning: Warning) => {
              const params = { ...warning.params };
              if (typeof params.reasonKey === 'string') params.reason = t(params.reasonKey as MessageKey);
              return <li key={warning.id}>{t(warning.key, params)}</li>;
            })}
          </ul>
          <button type="button" class="secondary" onClick={() => session.dismissWarnings()}>
            {t('warnings.dismiss')}
          </button>
        </>
      )}
    </section>
  );
}

export function App() {
  // First, before anything reads the address: a token handed over in `#token=` is taken out of it.
  const [handOff] = useState(takeHandOffToken);
  const [language, setLanguage] = useState<Language>(initialLanguage);
  const t: Translate = useMemo(() => (key, params) => translate(language, key, params), [language]);
  const [session, setSession] = useState<Session | undefined>();
  const [restoring, setRestoring] = useState(() => handOff === undefined && savedIdentity() !== undefined);
  const [restoreError, setRestoreError] = useState<string | undefined>();
  const identities = useDevIdentities();
  const route = useRoute();
  useSessionVersion(session);

  // Before the browser shows the new language's words, so that the page's `lang` never lags behind them.
  useLayoutEffect(() => chooseLanguage(language), [language]);
  // An NCB desk's notifications waiting for acknowledgement are counted in the tab's title.
  const pending = session?.roles.includes('ncb') ? session.queries.pending.length : 0;
  useEffect(() => {
    document.title = pending > 0 ? t('ncb.titleCount', { count: pending, title: t('app.title') }) : t('app.title');
  }, [t, pending]);

  // A reload of a tab signed in signs in again as the same identity: in development mode with a
  // fresh token, with a token while it is valid (a token handed over just now takes precedence).
  useEffect(() => {
    const saved = savedIdentity();
    if (!saved || handOff !== undefined) return;
    const claims = saved.mode === 'token' ? readTokenClaims(saved.token ?? '') : undefined;
    if (saved.mode === 'token' && tokenExpired(claims)) {
      forgetIdentity();
      setRestoreError(t('device.signIn.ended'));
      setRestoring(false);
      return;
    }
    const restore =
      saved.mode === 'dev'
        ? Session.signInDev(saved)
        : Session.prepareDevice(saved, saved.token ?? '').then((device) => Session.signInWithToken(saved, device));
    restore.then(
      (restored) => {
        setSession(restored);
        setRestoring(false);
      },
      (error) => {
        const expired = error && typeof error === 'object' && 'code' in error && error.code === 'AUTH_TOKEN_EXPIRED';
        if (expired) forgetIdentity();
        setRestoreError(expired ? t('device.signIn.ended') : t('signIn.failed', { reason: describeError(error) }));
        setRestoring(false);
      },
    );
  }, []);

  // A token sign-in whose token expired is over: back to the sign-in page, saying why.
  const expired = session?.expired === true;
  useEffect(() => {
    if (!expired || !session) return;
    setRestoreError(t('device.signIn.ended'));
    void session.signOut();
    setSession(undefined);
    navigate('/');
  }, [expired]);

  const signOut = async () => {
    await session?.signOut();
    setSession(undefined);
    setRestoreError(undefined);
    navigate('/');
  };

  let main: preact.JSX.Element;
  if (!session) {
    main = restoring ? (
      <p role="status">{t('signIn.working')}</p>
    ) : (
      <SignIn
        t={t}
        language={language}
        identities={identities}
        handOff={handOff}
        onSignedIn={(s) => {
          setSession(s);
          setRestoreError(undefined);
          navigate('/');
        }}
      />
    );
  } else if (route.name === 'new') {
    main = <NewConversation t={t} session={session} identities={Array.isArray(identities) ? identities : undefined} />;
  } else if (route.name === 'new-query') {
    main = <NewQuery t={t} session={session} />;
  } else if (route.name === 'query') {
    main = <QueryFollowUp key={route.id} t={t} language={language} session={session} id={route.id} />;
  } else if (route.name === 'conversation') {
    main = <ConversationView key={route.id} t={t} language={language} session={session} id={route.id} />;
  } else if (route.name === 'device') {
    main = <DeviceView t={t} session={session} />;
  } else if (session.roles.includes('ncb')) {
    main = <NcbDesk t={t} language={language} session={session} />;
  } else if (session.roles.includes('central-authority')) {
    main = <CentralAuthority t={t} language={language} session={session} />;
  } else if (session.roles.includes('supervisor')) {
    main = <Supervisor t={t} language={language} session={session} />;
  } else if (session.roles.includes('auditor')) {
    main = <Auditor t={t} language={language} session={session} />;
  } else {
    main = <Conversations t={t} session={session} />;
  }

  return (
    <>
      <button type="button" class="skip" onClick={() => document.getElementById('main')?.focus()}>
        {t('app.skip')}
      </button>
      <header class="top">
        <span class="brand">{t('app.title')}</span>
        {session && (
          <span class="who">
            <span>{t('app.signedInAs', { officer: session.identity.officer, agency: session.identity.agency })}</span>{' '}
            <span class={`status ${session.status}`} role="status">
              {t(`app.connection.${session.status}`)}
            </span>
          </span>
        )}
        <label class="language">
          <span class="visually-hidden">{t('app.language')}</span>
          <select
            value={language}
            onChange={(e) => setLanguage(e.currentTarget.value as Language)}
            aria-label={t('app.language')}
          >
            {Object.entries(LANGUAGES).map(([code, name]) => (
              <option key={code} value={code} lang={code}>
                {name}
              </option>
            ))}
          </select>
        </label>
        {session && <a href="#/device">{t('device.link')}</a>}
        {session && (
          <button type="button" class="secondary" onClick={signOut}>
            {t('app.signOut')}
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        {restoreError && (
          <p role="alert" class="error">
            {restoreError}
          </p>
        )}
        {session && <Warnings t={t} session={session} />}
        {main}
      </main>
    </>
  );
}
