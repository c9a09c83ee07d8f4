import type { QueryView } from '@ncp-hub/protocol';
import type { ComponentChildren, DdHTMLAttributes } from 'preact';
import type { Language, Translate } from '../i18n/index.js';
import { absoluteTime } from './deadline.js';

/** Who, as `officer (agency)`. */
export function who(ref: { agency: string; officer: string }): string {
  return `${ref.officer} (${ref.agency})`;
}

/** Who, with the state of the agency, as `officer (agency, country)`: what the NCB desks read. */
function whoFrom(ref: { agency: string; officer: string }, country: string): string {
  return `${ref.officer} (${ref.agency}, ${country})`;
}

/**
 * One fact of a `<dl class="facts">`: its name, and its value with the value's own attributes
 * (the `data-*` the views and their tests read a fact by).
 */
export function Fact({
  label,
  children,
  ...value
}: { label: string; children: ComponentChildren } & DdHTMLAttributes<HTMLElement>) {
  return (
    <div>
      <dt>{label}</dt>
      <dd {...value}>{children}</dd>
    </div>
  );
}

/**
 * The facts of a query that several views show, each written once here:
 * - `status`, `ground`: in words, the hub's value in `data-status`, `data-ground`;
 * - `groundLegal`: the ground with its legal wording (the NCB desk's notification);
 * - `requester`, `counterpart`: `officer (agency)`;
 * - `from`, `to`: requester and counterpart with their state (the NCB desk's notification);
 * - `openedAt`: when the query was opened, in the officer's time zone.
 */
export type QueryFactName =
  | 'status'
  | 'ground'
  | 'groundLegal'
  | 'requester'
  | 'counterpart'
  | 'from'
  | 'to'
  | 'openedAt';

/** The fact `name` of `query`, as a {@link Fact}. */
export function QueryFact({
  t,
  language,
  query,
  name,
}: {
  t: Translate;
  language: Language;
  query: QueryView;
  name: QueryFactName;
}) {
  switch (name) {
    case 'status':
      return (
        <Fact label={t('query.status')} data-status={query.status}>
          {t(`query.status.${query.status}`)}
        </Fact>
      );
    case 'ground':
      return (
        <Fact label={t('query.ground')} data-ground={query.ground}>
          {t(`ground.${query.ground}`)}
        </Fact>
      );
    case 'groundLegal':
      return (
        <Fact label={t('query.ground')} data-ground={query.ground}>
          {t(`ground.${query.ground}`)} <span class="legal">{t(`ground.${query.ground}.legal`)}</span>
        </Fact>
      );
    case 'requester':
      return <Fact label={t('query.requester')}>{who(query.requester)}</Fact>;
    case 'counterpart':
      return <Fact label={t('query.counterpart')}>{who(query.counterpart)}</Fact>;
    case 'from':
      return <Fact label={t('ncb.from')}>{whoFrom(query.requester, query.requesterCountry)}</Fact>;
    case 'to':
      return <Fact label={t('ncb.to')}>{whoFrom(query.counterpart, query.counterpartCountry)}</Fact>;
    case 'openedAt':
      return (
        <Fact label={t('ncb.openedAt')}>
          <time dateTime={new Date(query.openedAt).toISOString()}>{absoluteTime(language, query.openedAt)}</time>
        </Fact>
      );
  }
}

/**
 * A query's facts: the named ones first, in the order given, then the view's own (`children`,
 * each a {@link Fact} or a {@link QueryFact}).
 */
export function QueryFacts({
  t,
  language,
  query,
  facts = [],
  children,
}: {
  t: Translate;
  language: Language;
  query: QueryView;
  facts?: readonly QueryFactName[];
  children?: ComponentChildren;
}) {
  return (
    <dl class="facts">
      {facts.map((name) => (
        <QueryFact key={name} t={t} language={language} query={query} name={name} />
      ))}
      {children}
    </dl>
  );
}
