/**
 * A second SIGINT or SIGTERM this soon after the first is the same request delivered twice, not
 * an operator insisting: a Ctrl-C at a terminal reaches every process of the foreground group,
 * and `npm start`/`npm run worker` also forward it to the script they run.
 */
export const DUPLICATE_SIGNAL_MS = 1000;

/**
 * Stops the process cleanly on SIGTERM (what `docker stop` and service managers send) or SIGINT:
 * calls `stop` once and exits with the code it resolves to (1 if it rejects). A signal repeated
 * within {@link DUPLICATE_SIGNAL_MS} is ignored; a later one exits at once with 1.
 */
export function exitOnStopSignals(
  stop: (signal: NodeJS.Signals) => Promise<number>,
  onRepeat: (signal: NodeJS.Signals) => void = () => {},
): void {
  let firstAt: number | undefined;
  const handle = (signal: NodeJS.Signals) => {
    if (firstAt !== undefined) {
      if (Date.now() - firstAt < DUPLICATE_SIGNAL_MS) return;
      onRepeat(signal);
      process.exit(1);
    }
    firstAt = Date.now();
    stop(signal).then(
      (code) => process.exit(code),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
