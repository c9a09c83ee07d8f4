import type { QueryView } from '@ncp-hub/protocol';
import { useState } from 'preact/hooks';
import type { Language, Translate } from '../i18n/index.js';
import { refusalKey } from '../queries.js';
import { describeError, type Session } from '../session.js';

/** The props of a list item showing one query with an action on it (a formal request, a notification). */
export interface QueryItemProps {
  t: Translate;
  language: Language;
  session: Session;
  query: QueryView;
}

/** Why the hub (or the SDK) refused, in words: the refusal's catalogue entry, else the error described. */
export function refusalText(t: Translate, failure: unknown): string {
  const key = refusalKey(failure);
  return key ? t(key) : describeError(failure);
}

/** A button's action on a query, as {@link useQueryAction} runs it. */
export interface QueryAction {
  /** True while the action runs (the button disabled, or worded as working). */
  busy: boolean;
  /** The last failure, in words (for a `role="alert"`); cleared when the action runs again. */
  error: string | undefined;
  /** Runs the action once. */
  run: () => Promise<void>;
}

/**
 * One action on a query from a button (confirm, acknowledge): busy while it runs, and a failure
 * said by `failed`, given the refusal in words.
 */
export function useQueryAction(
  t: Translate,
  action: () => Promise<unknown>,
  failed: (reason: string) => string,
): QueryAction {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (failure) {
      setError(failed(refusalText(t, failure)));
    }
    setBusy(false);
  };
  return { busy, error, run };
}
