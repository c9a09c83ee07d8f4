/**
 * The development-only sign-in (section 8 of docs/PROTOCOL.md): `GET /v1/dev/identities` and
 * `POST /v1/dev/sign-in`, mounted only when the hub made its development registry
 * (`hub.development`), so that a hub with a `TRUST_REGISTRY` answers them as any unknown route.
 * The hub signs with the development agencies' private keys it wrote itself under
 * `DATA_DIR/dev/keys`: what an agency's identity system does in production, never the hub.
 */
import {
  attestDevelopmentDevice,
  DEVELOPMENT_IDENTITIES,
  type DevelopmentRegistry,
  findDevelopmentIdentity,
  issueDevelopmentOfficerToken,
} from '@ncp-hub/keys';
import { RequestError } from '@ncp-hub/protocol';
import { type RequestHandler, Router } from 'express';
import { parseOrBadRequest } from '../validation.js';
import { HTTP_ROUTES, reply, serveRoute } from './openapi.js';

/** Lifetime of a development token, in seconds: the console signs in again for a fresh one. */
export const DEVELOPMENT_TOKEN_TTL_SECONDS = 3600;

/** What the development routes need. */
export interface DevelopmentSignInOptions {
  development: DevelopmentRegistry;
  /** The hub's `HUB_ID`: the tokens' `aud`. */
  hubId: string;
  /** The peer address's `read` budget, as for every route without a token. */
  byAddress: RequestHandler;
}

/** The two development routes, under `/v1/dev`. */
export function developmentSignInRoutes(options: DevelopmentSignInOptions): Router {
  const { development, hubId, byAddress } = options;
  const router = Router();

  serveRoute(router, HTTP_ROUTES.developmentIdentities, byAddress, (_req, res) => {
    reply(res, HTTP_ROUTES.developmentIdentities, { identities: [...DEVELOPMENT_IDENTITIES] });
  });

  serveRoute(router, HTTP_ROUTES.developmentSignIn, byAddress, async (req, res) => {
    const body = parseOrBadRequest(HTTP_ROUTES.developmentSignIn.body, req.body ?? {}, 'sign-in');
    const identity = findDevelopmentIdentity(body.agency, body.officer);
    if (!identity) {
      throw new RequestError('BAD_REQUEST', 'sign-in: not a development identity (GET /v1/dev/identities lists them)');
    }
    const { agency, officer, roles } = identity;
    const token = await issueDevelopmentOfficerToken({
      keysDir: development.keysDir,
      agency,
      officer,
      roles,
      audience: hubId,
      ttlSeconds: DEVELOPMENT_TOKEN_TTL_SECONDS,
    });
    const { device, encryptionKey, signingKey } = body;
    const attestation =
      device === undefined || encryptionKey === undefined || signingKey === undefined
        ? null
        : await attestDevelopmentDevice({
            keysDir: development.keysDir,
            agency,
            officer,
            publicKeys: { device, encryptionKey, signingKey },
          });
    reply(res, HTTP_ROUTES.developmentSignIn, { token, attestation });
  });

  return router;
}
