import { useEffect, useRef, useState } from 'preact/hooks';
import type { MessageKey, Translate } from '../i18n/index.js';
import { describeError, type Session } from '../session.js';
import { Heading } from './heading.js';

/**
 * The shortest passphrase the console takes for an export. Above the SDK's floor (8): the
 * export may be copied and attacked offline for years, Argon2id only slows each guess.
 */
export const EXPORT_MIN_PASSPHRASE = 12;

/** A rough strength, in words: length first (passphrases of words), variety of characters second. */
export function passphraseStrength(passphrase: string): 'weak' | 'fair' | 'strong' {
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((c) => c.test(passphrase)).length;
  const distinct = new Set(passphrase).size;
  if (passphrase.length >= 20 && distinct >= 10) return 'strong';
  if (passphrase.length >= 16 && classes >= 3 && distinct >= 8) return 'strong';
  if (passphrase.length >= EXPORT_MIN_PASSPHRASE && distinct >= 6) return 'fair';
  return 'weak';
}

/** The file name of an export: who and which device, so that an import knows whose it is. */
function exportFileName(session: Session): string {
  const { agency, officer } = session.identity;
  return `ncp-device-${agency}-${officer}-${session.client.publicKeys().device}.json`;
}

type ExportState =
  | { kind: 'idle' }
  | { kind: 'working' }
  | { kind: 'ready'; url: string; file: string }
  | { kind: 'failed'; text: string };

/** This device: its id and fingerprint, and its export under a passphrase (downloaded as a file). */
export function DeviceView({ t, session }: { t: Translate; session: Session }) {
  const [fingerprint, setFingerprint] = useState<string | undefined>();
  const [passphrase, setPassphrase] = useState('');
  const [confirm, setConfirm] = useState('');
  const [problem, setProblem] = useState<MessageKey | undefined>();
  const [state, setState] = useState<ExportState>({ kind: 'idle' });
  const download = useRef<HTMLAnchorElement>(null);
  const device = session.client.publicKeys().device;

  useEffect(() => {
    let live = true;
    session.client.fingerprint().then(
      (value) => live && setFingerprint(value),
      () => {},
    );
    return () => {
      live = false;
    };
  }, [session]);

  // The export's Blob URL lives while the page shows its link.
  const url = state.kind === 'ready' ? state.url : undefined;
  useEffect(() => {
    if (url === undefined) return;
    download.current?.click();
    return () => URL.revokeObjectURL(url);
  }, [url]);

  const submit = async (event: Event) => {
    event.preventDefault();
    if (passphrase.length < EXPORT_MIN_PASSPHRASE) {
      setProblem('device.export.tooShort');
      return;
    }
    if (passphrase !== confirm) {
      setProblem('device.export.mismatch');
      return;
    }
    setProblem(undefined);
    setState({ kind: 'working' });
    try {
      const exported = await session.exportDevice(passphrase);
      setPassphrase('');
      setConfirm('');
      const blob = new Blob([exported], { type: 'application/json' });
      setState({ kind: 'ready', url: URL.createObjectURL(blob), file: exportFileName(session) });
    } catch (failure) {
      setState({ kind: 'failed', text: t('device.export.failed', { reason: describeError(failure) }) });
    }
  };

  const strength = passphrase === '' ? undefined : passphraseStrength(passphrase);
  return (
    <section aria-labelledby="view-title" class="view device">
      <a href="#/" class="back">
        ← {t('conversation.back')}
      </a>
      <Heading>{t('device.title')}</Heading>
      <p>{t('device.intro')}</p>
      <dl class="device-facts">
        <dt>{t('device.id')}</dt>
        <dd>
          <code data-device={device}>{device}</code>
        </dd>
        <dt>{t('device.fingerprint')}</dt>
        <dd>
          {fingerprint ? <code data-fingerprint={fingerprint}>{fingerprint}</code> : t('device.fingerprintLoading')}
        </dd>
      </dl>
      <h2>{t('device.export.title')}</h2>
      <p>{t('device.export.intro')}</p>
      <form onSubmit={submit} class="stack" noValidate>
        <label>
          {t('device.export.passphrase')}
          <input
            type="password"
            autocomplete="new-password"
            minLength={EXPORT_MIN_PASSPHRASE}
            aria-describedby="passphrase-hint passphrase-strength"
            value={passphrase}
            onInput={(e) => setPassphrase(e.currentTarget.value)}
          />
        </label>
        <p id="passphrase-hint" class="hint">
          {t('device.export.minimum', { min: EXPORT_MIN_PASSPHRASE })}
        </p>
        <p id="passphrase-strength" class="hint" aria-live="polite" data-strength={strength}>
          {strength && t(`device.export.strength.${strength}`)}
        </p>
        <label>
          {t('device.export.confirm')}
          <input
            type="password"
            autocomplete="new-password"
            value={confirm}
            onInput={(e) => setConfirm(e.currentTarget.value)}
          />
        </label>
        <button type="submit" disabled={state.kind === 'working'}>
          {t('device.export.submit')}
        </button>
        {problem && (
          <p role="alert" class="error">
            {t(problem, { min: EXPORT_MIN_PASSPHRASE })}
          </p>
        )}
        {state.kind === 'working' && <p role="status">{t('device.export.working')}</p>}
        {state.kind === 'failed' && (
          <p role="alert" class="error">
            {state.text}
          </p>
        )}
      </form>
      {state.kind === 'ready' && (
        <div role="status">
          <p>{t('device.export.ready', { file: state.file })}</p>
          <a ref={download} href={state.url} download={state.file}>
            {t('device.export.download', { file: state.file })}
          </a>
        </div>
      )}
    </section>
  );
}
