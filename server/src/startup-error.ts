/**
 * The hub cannot start as configured; the message says what to change. The base of every
 * error that stops the start for a reason the operator can fix (configuration, policy file,
 * Redis): `main` prints its message alone, without a stack. Never a secret in the message.
 */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
