/**
 * Whether a browser `Origin` may talk to the hub: requests without one (agency systems,
 * Node clients) always may; a browser only from `allowedOrigins` or the hub's own origin.
 */
export function isOriginAllowed(
  origin: string | undefined,
  host: string | undefined,
  allowedOrigins: readonly string[],
): boolean {
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin)) return true;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}
