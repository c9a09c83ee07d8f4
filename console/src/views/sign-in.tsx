import { useEffect, useMemo, useState } from 'preact/hooks';
import { type DevIdentity, fetchDevIdentities } from '../dev-api.js';
import type { Language, Translate } from '../i18n/index.js';
import {
  describeError,
  importDevice,
  type PreparedDevice,
  readTokenClaims,
  Session,
  type TokenClaims,
  tokenExpired,
} from '../session.js';
import { absoluteTime } from './deadline.js';
import { Heading } from './heading.js';

interface Props {
  t: Translate;
  language: Language;
  identities: DevIdentity[] | undefined | 'loading';
  onSignedIn: (session: Session) => void;
  /** A token handed over by the agency's sign-in page (`#token=`, already taken out of the address). */
  handOff?: string | undefined;
}

/**
 * Development: one button per identity. Production: the token (pasted or handed over), the
 * enrolment request to attest, the attestation. Both: importing an exported device first.
 */
export function SignIn({ t, language, identities, onSignedIn, handOff }: Props) {
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
      {identities === undefined && (
        <TokenSignIn t={t} language={language} onSignedIn={onSignedIn} onError={setError} handOff={handOff} />
      )}
      {Array.isArray(identities) && <ImportDevice t={t} />}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </section>
  );
}

/** The `ncp-keys attest-device` command line for this device, every value filled in. */
function attestCommand(agency: string, officer: string, device: PreparedDevice): string {
  const keys = device.client.publicKeys();
  // `=` before the keys: a base64url key may start with "-", which would read as an option.
  return [
    'ncp-keys attest-device',
    `--agency ${agency}`,
    `--officer ${officer}`,
    `--device ${keys.device}`,
    `--encryption-key=${keys.encryptionKey}`,
    `--signing-key=${keys.signingKey}`,
  ].join(' ');
}

/** Why a token cannot be used, before asking the hub: not a JWS, or expired on this clock. */
function tokenProblem(
  t: Translate,
  language: Language,
  token: string,
  claims: TokenClaims | undefined,
): string | undefined {
  if (token.trim().split('.').length !== 3 || !claims) return t('device.signIn.notToken');
  if (tokenExpired(claims) && claims.expiresAt !== undefined) {
    return t('device.signIn.expired', { time: absoluteTime(language, claims.expiresAt * 1000) });
  }
  return undefined;
}

/** A field the token fills (read-only then, its claim is what the hub will use) or the officer types. */
function ClaimField({
  label,
  hint,
  claimed,
  value,
  onInput,
}: {
  label: string;
  hint: string;
  claimed: string | undefined;
  value: string;
  onInput: (value: string) => void;
}) {
  return (
    <label>
      {label}
      {claimed !== undefined && <span class="hint"> ({hint})</span>}
      <input
        required
        readOnly={claimed !== undefined}
        value={claimed ?? value}
        onInput={(e) => onInput(e.currentTarget.value)}
        autocomplete="off"
      />
    </label>
  );
}

/** The claims of a token that name whom a sign-in or an import is for. */
const IDENTITY_CLAIMS = ['agency', 'officer'] as const;
type IdentityClaim = (typeof IDENTITY_CLAIMS)[number];

/** The agency and officer a sign-in or an import is for, as {@link useIdentityFields} keeps them. */
interface IdentityFieldsState {
  /** The token's claim, else what the officer typed. */
  agency: string;
  /** The token's claim, else what the officer typed. */
  officer: string;
  /** What the officer typed, each field. */
  typed: Record<IdentityClaim, string>;
  /** Records what the officer types in a field. */
  type: (claim: IdentityClaim, value: string) => void;
}

/** The agency and officer: the token's claims when it has them, else what the officer types. */
function useIdentityFields(claims: TokenClaims | undefined): IdentityFieldsState {
  const [typed, setTyped] = useState<Record<IdentityClaim, string>>({ agency: '', officer: '' });
  return {
    agency: claims?.agency ?? typed.agency,
    officer: claims?.officer ?? typed.officer,
    typed,
    type: (claim, value) => setTyped((current) => ({ ...current, [claim]: value })),
  };
}

/** The agency and officer fields, filled by the token's claims when it has them. */
function IdentityFields({
  t,
  claims,
  identity,
}: {
  t: Translate;
  claims: TokenClaims | undefined;
  identity: IdentityFieldsState;
}) {
  return (
    <>
      {IDENTITY_CLAIMS.map((claim) => (
        <ClaimField
          key={claim}
          label={t(`signIn.prod.${claim}`)}
          hint={t('device.signIn.fromToken')}
          claimed={claims?.[claim]}
          value={identity.typed[claim]}
          onInput={(value) => identity.type(claim, value)}
        />
      ))}
    </>
  );
}

/**
 * The production path: the token (pasted, or handed over by the agency's sign-in page), agency
 * and officer read from its claims, the device made here and its enrolment request (the
 * `ncp-keys attest-device` command line and the same as JSON) with its fingerprint, then the
 * agency's attestation pasted and published.
 */
function TokenSignIn({
  t,
  language,
  onSignedIn,
  onError,
  handOff,
}: {
  t: Translate;
  language: Language;
  onSignedIn: (session: Session) => void;
  onError: (error: string | undefined) => void;
  handOff: string | undefined;
}) {
  const [token, setToken] = useState(handOff ?? '');
  const [attestation, setAttestation] = useState('');
  const [prepared, setPrepared] = useState<PreparedDevice | undefined>();
  const [fingerprint, setFingerprint] = useState<string>('');
  const [busy, setBusy] = useState(false);
  const claims = useMemo(() => readTokenClaims(token), [token]);
  const identity = useIdentityFields(claims);
  const { agency, officer } = identity;

  /** Whether the token can be used; the reason why not said in words, else the last error cleared. */
  const tokenUsable = (): boolean => {
    const problem = tokenProblem(t, language, token, claims);
    onError(problem);
    return problem === undefined;
  };

  const prepare = async () => {
    if (!tokenUsable()) return;
    setBusy(true);
    try {
      await prepared?.client.close().catch(() => {});
      const device = await Session.prepareDevice({ agency, officer }, token.trim());
      setPrepared(device);
      setFingerprint(await device.client.fingerprint());
    } catch (failure) {
      onError(t('signIn.failed', { reason: describeError(failure) }));
    } finally {
      setBusy(false);
    }
  };

  // A token handed over by the agency's page goes straight to the enrolment request.
  useEffect(() => {
    if (handOff && claims?.agency && claims.officer) void prepare();
  }, []);

  const generate = (event: Event) => {
    event.preventDefault();
    void prepare();
  };

  const connect = async (event: Event) => {
    event.preventDefault();
    if (!prepared) return;
    if (!tokenUsable()) return;
    setBusy(true);
    try {
      onSignedIn(
        await Session.signInWithToken(
          { agency, officer, mode: 'token', token: token.trim(), attestation: attestation.trim() },
          prepared,
        ),
      );
    } catch (failure) {
      const code = failure && typeof failure === 'object' && 'code' in failure ? failure.code : undefined;
      onError(
        code === 'AUTH_TOKEN_EXPIRED'
          ? t('device.signIn.ended')
          : t('signIn.failed', { reason: describeError(failure) }),
      );
      setBusy(false);
    }
  };

  const keys = prepared?.client.publicKeys();
  return (
    <>
      {handOff && <p role="status">{t('device.signIn.handOff')}</p>}
      <p>{t('signIn.prod.intro')}</p>
      <form onSubmit={generate} class="stack">
        <label>
          {t('signIn.prod.token')}
          <textarea
            required
            rows={3}
            value={token}
            spellcheck={false}
            onInput={(e) => {
              setToken(e.currentTarget.value);
              setPrepared(undefined);
            }}
          />
        </label>
        <IdentityFields t={t} claims={claims} identity={identity} />
        <button type="submit" disabled={busy}>
          {t('signIn.prod.generate')}
        </button>
      </form>
      {prepared && keys && (
        <form onSubmit={connect} class="stack enrolment" aria-labelledby="enrolment-title">
          <h2 id="enrolment-title">{t('signIn.prod.request')}</h2>
          <label>
            {t('device.signIn.command')}
            <textarea
              readOnly
              rows={4}
              spellcheck={false}
              data-request="command"
              value={attestCommand(agency, officer, prepared)}
            />
          </label>
          <label>
            {t('device.signIn.json')}
            <textarea
              readOnly
              rows={8}
              spellcheck={false}
              data-request="json"
              value={JSON.stringify({ agency, officer, ...keys, fingerprint }, null, 2)}
            />
          </label>
          <p>
            {t('signIn.prod.fingerprint')}: <code data-fingerprint={fingerprint}>{fingerprint}</code>
          </p>
          {prepared.attested && <p role="status">{t('device.signIn.attested', { device: keys.device })}</p>}
          <label>
            {prepared.attested ? t('device.signIn.attestationOptional') : t('signIn.prod.attestation')}
            <textarea
              required={!prepared.attested}
              rows={3}
              spellcheck={false}
              value={attestation}
              onInput={(e) => setAttestation(e.currentTarget.value)}
            />
          </label>
          <button type="submit" disabled={busy}>
            {t('signIn.prod.connect')}
          </button>
          {busy && <p role="status">{t('signIn.working')}</p>}
        </form>
      )}
      <ImportDevice
        t={t}
        claims={claims}
        onImported={() => {
          // The device this page prepared is no longer the identity's: open the imported one.
          if (prepared) void prepare();
        }}
      />
    </>
  );
}

/**
 * Importing a device exported elsewhere (the device page's export) into this browser for an
 * identity, before signing in: the sign-in that follows is that device.
 */
function ImportDevice({
  t,
  claims,
  onImported,
}: {
  t: Translate;
  claims?: TokenClaims | undefined;
  onImported?: () => void;
}) {
  const identity = useIdentityFields(claims);
  const [file, setFile] = useState<File | undefined>();
  const [passphrase, setPassphrase] = useState('');
  const [state, setState] = useState<
    { kind: 'idle' } | { kind: 'working' } | { kind: 'done'; text: string } | { kind: 'failed'; text: string }
  >({ kind: 'idle' });
  const { agency, officer } = identity;

  const submit = async (event: Event) => {
    event.preventDefault();
    if (!file) return;
    setState({ kind: 'working' });
    try {
      const device = await importDevice({ agency, officer }, await file.text(), passphrase);
      setPassphrase('');
      setState({ kind: 'done', text: t('device.import.done', { device, agency, officer }) });
      onImported?.();
    } catch (failure) {
      const code = failure && typeof failure === 'object' && 'code' in failure ? failure.code : undefined;
      setState({
        kind: 'failed',
        text:
          code === 'KEY_EXPORT_INVALID'
            ? t('device.import.invalid')
            : t('device.import.failed', { reason: describeError(failure) }),
      });
    }
  };

  return (
    <details class="import-device">
      <summary>{t('device.import.title')}</summary>
      <form onSubmit={submit} class="stack">
        <p>{t('device.import.intro')}</p>
        <IdentityFields t={t} claims={claims} identity={identity} />
        <label>
          {t('device.import.file')}
          <input
            type="file"
            required
            accept=".json,application/json"
            onChange={(e) => setFile(e.currentTarget.files?.[0])}
          />
        </label>
        <label>
          {t('device.import.passphrase')}
          <input
            type="password"
            required
            autocomplete="current-password"
            value={passphrase}
            onInput={(e) => setPassphrase(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={state.kind === 'working'}>
          {t('device.import.submit')}
        </button>
        {state.kind === 'working' && <p role="status">{t('device.import.working')}</p>}
        {state.kind === 'done' && <p role="status">{state.text}</p>}
        {state.kind === 'failed' && (
          <p role="alert" class="error">
            {state.text}
          </p>
        )}
      </form>
    </details>
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
