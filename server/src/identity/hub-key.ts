import type { webcrypto } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type AgencyPublicJwk,
  agencyPublicJwkSchema,
  generateAgencyKey,
  readSigningKey,
  writePrivateKey,
} from '@ncp-hub/keys';
import { importJWK, type JWK } from 'jose';
import { StartupError } from '../startup-error.js';
import { withDataDirLock } from './data-dir-lock.js';

type CryptoKey = webcrypto.CryptoKey;

/** The hub's own Ed25519 signing key, for what the hub itself asserts (webhook notifications). */
export interface HubKey {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: AgencyPublicJwk;
}

const HUB_KEY_OWNER = 'hub';

/**
 * Loads the hub's signing key: from `keyFile` (a private Ed25519 JWK with `kid`) when given,
 * else from `<dataDir>/hub-keys/` (mode 0600), making it on first start under the DATA_DIR lock
 * (nodes started together on a fresh folder make one). Every hub node and worker of one hub
 * must share the key (the same file, or the same data folder).
 */
export async function loadOrCreateHubKey(dataDir: string, keyFile?: string): Promise<HubKey> {
  let privateJwk: JWK;
  if (keyFile) {
    try {
      privateJwk = JSON.parse(await readFile(keyFile, 'utf8')) as JWK;
    } catch {
      throw new StartupError(`HUB_KEY_FILE: cannot read a JWK from ${keyFile}`);
    }
    if (privateJwk.kty !== 'OKP' || privateJwk.crv !== 'Ed25519' || !privateJwk.d || !privateJwk.kid) {
      throw new StartupError('HUB_KEY_FILE: must hold a private Ed25519 JWK (kty OKP, crv Ed25519, d, kid)');
    }
    privateJwk = { ...privateJwk, alg: 'EdDSA' };
  } else {
    const dir = join(dataDir, 'hub-keys');
    privateJwk = await readSigningKey(dir, HUB_KEY_OWNER).catch(() =>
      // Under the DATA_DIR lock, read again first: a node started at the same moment may have made it.
      withDataDirLock(dataDir, async () => {
        try {
          return await readSigningKey(dir, HUB_KEY_OWNER);
        } catch {
          const generated = await generateAgencyKey('EdDSA');
          await writePrivateKey(dir, HUB_KEY_OWNER, generated.privateJwk);
          return readSigningKey(dir, HUB_KEY_OWNER);
        }
      }),
    );
  }
  const { d: _secret, ...publicPart } = privateJwk;
  delete publicPart.ext;
  return {
    kid: privateJwk.kid as string,
    privateKey: (await importJWK(privateJwk, 'EdDSA')) as CryptoKey,
    publicJwk: agencyPublicJwkSchema.parse({ ...publicPart, key_ops: undefined }),
  };
}
