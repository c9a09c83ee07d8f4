import type { webcrypto } from 'node:crypto';
import { join } from 'node:path';
import {
  type AgencyPublicJwk,
  agencyPublicJwkSchema,
  generateAgencyKey,
  readSigningKey,
  writePrivateKey,
} from '@ncp-hub/keys';
import { importJWK, type JWK } from 'jose';

type CryptoKey = webcrypto.CryptoKey;

/** The hub's own Ed25519 signing key, for what the hub itself asserts (webhook notifications). */
export interface HubKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: AgencyPublicJwk;
}

const HUB_KEY_OWNER = 'hub';

/**
 * Loads the hub's signing key from `<dataDir>/hub-keys/` (mode 0600), making it on first
 * start. Every hub node and worker of one hub must share the data folder, or the same key.
 */
export async function loadOrCreateHubKey(dataDir: string): Promise<HubKey> {
  const dir = join(dataDir, 'hub-keys');
  let privateJwk: JWK;
  try {
    privateJwk = await readSigningKey(dir, HUB_KEY_OWNER);
  } catch {
    const generated = await generateAgencyKey('EdDSA');
    await writePrivateKey(dir, HUB_KEY_OWNER, generated.privateJwk).catch(() => undefined);
    privateJwk = await readSigningKey(dir, HUB_KEY_OWNER);
  }
  const { d: _secret, ...publicPart } = privateJwk;
  return {
    kid: privateJwk.kid as string,
    privateKey: (await importJWK(privateJwk, 'EdDSA')) as CryptoKey,
    publicJwk: agencyPublicJwkSchema.parse({ ...publicPart, key_ops: undefined }),
  };
}
