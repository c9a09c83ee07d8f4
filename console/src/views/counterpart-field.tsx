import type { DirectoryAgency, OfficerRef } from '@ncp-hub/protocol';
import { ROLES_BY_AGENCY_KIND } from '@ncp-hub/protocol';
import { useEffect, useState } from 'preact/hooks';
import type { Translate } from '../i18n/index.js';
import { describeError, type Session } from '../session.js';

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
 * Whom the field offers: `agency`, the officers of every other agency (a conversation); `state`,
 * the officers of police agencies of another state (an operational query's counterpart).
 */
export type CounterpartScope = 'agency' | 'state';

/** The agencies of the directory, each with its officers who have a device that verifies here. */
interface DirectoryGroup {
  agency: DirectoryAgency;
  officers: OfficerRef[];
}

type DirectoryState =
  | { status: 'loading' }
  | { status: 'ready'; groups: DirectoryGroup[] }
  | { status: 'failed'; reason: string };

/** The agencies in scope for this officer, from the registry as the hub lists it. */
function inScope(agencies: DirectoryAgency[], own: string, scope: CounterpartScope): DirectoryAgency[] {
  const mine = agencies.find((agency) => agency.id === own);
  return agencies.filter((agency) =>
    scope === 'agency'
      ? agency.id !== own
      : ROLES_BY_AGENCY_KIND[agency.kind].includes('officer') && agency.country !== mine?.country,
  );
}

/** The directory (the SDK's `agencies` and `officersOf`), fetched on mount and on `refresh`. */
function useDirectory(session: Session, scope: CounterpartScope): [DirectoryState, () => void] {
  const [state, setState] = useState<DirectoryState>({ status: 'loading' });
  const [generation, setGeneration] = useState(0);
  useEffect(() => {
    let current = true;
    setState({ status: 'loading' });
    (async () => {
      const agencies = inScope(await session.client.agencies(), session.identity.agency, scope);
      const groups = await Promise.all(
        agencies.map(async (agency) => ({ agency, officers: await session.client.officersOf(agency.id) })),
      );
      return groups.filter((group) => group.officers.length > 0);
    })().then(
      (groups) => current && setState({ status: 'ready', groups }),
      (error) => current && setState({ status: 'failed', reason: describeError(error) }),
    );
    return () => {
      current = false;
    };
  }, [session, scope, generation]);
  return [state, () => setGeneration((g) => g + 1)];
}

/**
 * The field naming an officer of another agency: a choice among the officers of the hub's
 * directory who have a published device (grouped by agency), and, for one not listed, the agency
 * and officer id typed in.
 */
export function CounterpartField({
  t,
  session,
  label,
  scope,
  value,
  onChange,
}: {
  t: Translate;
  session: Session;
  label: string;
  scope: CounterpartScope;
  value: Counterpart;
  onChange: (next: Counterpart) => void;
}) {
  const [directory, refresh] = useDirectory(session, scope);
  const groups = directory.status === 'ready' ? directory.groups : [];
  const key = value.agency && value.officer ? `${value.agency}/${value.officer}` : '';
  const listed = groups.some((group) => group.officers.some((o) => `${o.agency}/${o.officer}` === key));
  return (
    <div class="stack counterpart">
      <label>
        {label}
        <select
          required={!key}
          value={listed ? key : ''}
          aria-busy={directory.status === 'loading'}
          onChange={(e) => {
            const [agency = '', officer = ''] = e.currentTarget.value.split('/');
            onChange({ agency, officer });
          }}
        >
          <option value="">
            {directory.status === 'loading'
              ? t('counterpart.loading')
              : groups.length === 0
                ? t('counterpart.none')
                : t('new.choose')}
          </option>
          {groups.map((group) => (
            <optgroup
              key={group.agency.id}
              label={`${group.agency.name} (${group.agency.id}, ${group.agency.country})`}
            >
              {group.officers.map((officer) => (
                <option key={officer.officer} value={`${officer.agency}/${officer.officer}`}>
                  {officer.officer} ({officer.agency})
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </label>
      {directory.status === 'failed' && (
        <p role="alert" class="error">
          {t('counterpart.failed', { reason: directory.reason })}
        </p>
      )}
      <div class="actions">
        <button type="button" class="secondary" onClick={refresh}>
          {t('counterpart.refresh')}
        </button>
      </div>
      <details open={key !== '' && !listed}>
        <summary>{t('counterpart.notListed')}</summary>
        <div class="stack">
          <label>
            {t('new.agency')}
            <input
              value={value.agency}
              onInput={(e) => onChange({ ...value, agency: e.currentTarget.value })}
              autocomplete="off"
            />
          </label>
          <label>
            {t('new.officerId')}
            <input
              value={value.officer}
              onInput={(e) => onChange({ ...value, officer: e.currentTarget.value })}
              autocomplete="off"
            />
          </label>
        </div>
      </details>
    </div>
  );
}
