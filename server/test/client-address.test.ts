import { describe, expect, it } from 'vitest';
import { clientAddress, parseTrustedProxies } from '../src/http/client-address.js';

describe('the client address behind trusted proxies (TRUST_PROXY)', () => {
  const proxies = parseTrustedProxies('10.0.0.5, 172.16.0.0/12, fd00::/8');

  it('is the peer address when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(parseTrustedProxies('')).toBeUndefined();
    expect(clientAddress('203.0.113.7', '198.51.100.1', undefined)).toBe('203.0.113.7');
  });

  it('is the peer address when the peer is not a trusted proxy (a client cannot spoof it)', () => {
    expect(clientAddress('203.0.113.7', '198.51.100.1', proxies)).toBe('203.0.113.7');
  });

  it('is the address the trusted proxies appended, walking X-Forwarded-For from the right', () => {
    expect(clientAddress('10.0.0.5', '198.51.100.1', proxies)).toBe('198.51.100.1');
    // What the client wrote at the left is not believed: the first hop not a trusted proxy is.
    expect(clientAddress('10.0.0.5', '1.2.3.4, 198.51.100.1, 172.20.0.3', proxies)).toBe('198.51.100.1');
    expect(clientAddress('::ffff:172.18.0.2', ['1.2.3.4', '198.51.100.9'], proxies)).toBe('198.51.100.9');
    expect(clientAddress('fd00::1', '2001:db8::42', proxies)).toBe('2001:db8::42');
  });

  it('stops at a malformed hop, and keeps the proxy when there is no header', () => {
    expect(clientAddress('10.0.0.5', 'not-an-address, 198.51.100.1', proxies)).toBe('198.51.100.1');
    expect(clientAddress('10.0.0.5', '198.51.100.1, junk', proxies)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.5', undefined, proxies)).toBe('10.0.0.5');
  });

  it('refuses an entry that is neither an address nor a network', () => {
    expect(() => parseTrustedProxies('10.0.0.0/33')).toThrow('"10.0.0.0/33"');
    expect(() => parseTrustedProxies('nginx')).toThrow('"nginx"');
  });
});
