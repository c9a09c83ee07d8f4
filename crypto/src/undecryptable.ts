// The undecryptable error lives in the protocol's one error model; these names stay for
// source compatibility with SDK 0.1.
export type { UndecryptableReason } from '@ncp-hub/protocol';
export {
  isUndecryptableReason,
  UNDECRYPTABLE_REASONS,
  /** @deprecated The same class as {@link UndecryptableError} (code `UNDECRYPTABLE`, with its `reason`). */
  UndecryptableError as CryptoCheckError,
  UndecryptableError,
} from '@ncp-hub/protocol';
