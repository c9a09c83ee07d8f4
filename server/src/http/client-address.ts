import { BlockList, isIP } from 'node:net';

/**
 * The proxies whose `X-Forwarded-For` the hub believes (`TRUST_PROXY`): addresses (`10.0.0.5`)
 * and networks (`172.16.0.0/12`, `fd00::/8`), IPv4 or IPv6. Empty: none, the peer address is the
 * client's.
 */
export type TrustedProxies = BlockList | undefined;

/** Strips the `::ffff:` of an IPv4 address seen on an IPv6 socket. */
function plain(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function trusted(proxies: BlockList, address: string): boolean {
  const family = isIP(address);
  return family !== 0 && proxies.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * Parses `TRUST_PROXY`, a comma-separated list of addresses and networks; throws a message naming
 * the first entry that is neither.
 */
export function parseTrustedProxies(value: string): TrustedProxies {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (entries.length === 0) return undefined;
  const list = new BlockList();
  for (const entry of entries) {
    const [address = '', prefix, ...rest] = entry.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 4 ? 32 : 128;
    if (
      family === 0 ||
      rest.length > 0 ||
      (bits !== undefined && !(Number.isInteger(bits) && bits >= 0 && bits <= maxBits))
    ) {
      throw new Error(`"${entry}" is not an IP address or a network like 10.0.0.0/8`);
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  return list;
}

/**
 * The client's address for the per-address budgets and the logs: the peer's, unless the peer is
 * a trusted proxy; then, walking `X-Forwarded-For` from the right (the entry each proxy appended),
 * the first address that is not a trusted proxy. A client can put anything at the left of the
 * header, so only what trusted proxies appended is believed; a malformed entry stops the walk at
 * the last address believed.
 */
export function clientAddress(
  peer: string | undefined,
  forwardedFor: string | string[] | undefined,
  proxies: TrustedProxies,
): string | undefined {
  if (peer === undefined || proxies === undefined) return peer;
  let address = plain(peer);
  if (!trusted(proxies, address)) return peer;
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '');
  const hops = header
    .split(',')
    .map((hop) => hop.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = plain(hops[i] as string);
    if (isIP(hop) === 0) break;
    address = hop;
    if (!trusted(proxies, hop)) break;
  }
  return address;
}

/** What {@link clientAddressOf} reads of an HTTP request (the express app keeps the proxies in `app.locals`). */
interface AddressedRequest {
  socket: { remoteAddress?: string | undefined };
  headers: Record<string, string | string[] | undefined>;
  app: { locals: Record<string, unknown> };
}

/** The client's address of an HTTP request, with the app's `trustedProxies` (set by createHttpApp). */
export function clientAddressOf(req: AddressedRequest): string | undefined {
  return clientAddress(
    req.socket.remoteAddress,
    req.headers['x-forwarded-for'],
    req.app.locals.trustedProxies as TrustedProxies,
  );
}
