import type { DevIdentity } from '../dev-api.js';
import type { Translate } from '../i18n/index.js';

/** An officer of another agency, as a form names them. */
export interface Counterpart {
  agency: string;
  officer: string;
}

/** No one chosen yet. */
export const NO_COUNTERPART: Counterpart = { agency: '', officer: '' };

/** The counterpart with its parts trimmed, or undefined while a part is empty. */
export function chosen(counterpart: Counterpart): Counterpart | undefined {
  const agency = counterpart.agency.trim();
  const officer = counterpart.officer.trim();
  return agency && officer ? { agency, officer } : undefined;
}

/**
 * The field naming an officer of another agency: in development mode a choice among the
 * development identities (`candidates`), otherwise the agency and the officer id typed in.
 */
export function CounterpartField({
  t,
  label,
  candidates,
  value,
  onChange,
}: {
  t: Translate;
  label: string;
  /** The development identities to choose from; undefined outside development mode. */
  candidates: DevIdentity[] | undefined;
  value: Counterpart;
  onChange: (next: Counterpart) => void;
}) {
  if (candidates !== undefined) {
    const key = value.agency && value.officer ? `${value.agency}/${value.officer}` : '';
    return (
      <label>
        {label}
        <select
          required
          value={key}
          onChange={(e) => {
            const [agency = '', officer = ''] = e.currentTarget.value.split('/');
            onChange({ agency, officer });
          }}
        >
          <option value="">{t('new.choose')}</option>
          {candidates.map((who) => (
            <option key={`${who.agency}/${who.officer}`} value={`${who.agency}/${who.officer}`}>
              {who.officer} — {who.label}
            </option>
          ))}
        </select>
      </label>
    );
  }
  return (
    <>
      <label>
        {t('new.agency')}
        <input
          required
          value={value.agency}
          onInput={(e) => onChange({ ...value, agency: e.currentTarget.value })}
          autocomplete="off"
        />
      </label>
      <label>
        {t('new.officerId')}
        <input
          required
          value={value.officer}
          onInput={(e) => onChange({ ...value, officer: e.currentTarget.value })}
          autocomplete="off"
        />
      </label>
    </>
  );
}
