export type { HubErrorBody, HubErrorCode } from './errors.js';
export { HUB_ERROR_CODES, HubError, isHubErrorCode } from './errors.js';
export type { Ack, AckCallback, ClientToServerEvents, ServerToClientEvents, SessionWelcome } from './events.js';
export { EVENTS, sessionWelcomeSchema, sessionWhoamiSchema } from './events.js';
export type { AgencyId, AgencyKind, AllowedJwtAlgorithm, CountryCode, Identity, OfficerId, Role } from './identity.js';
export {
  AGENCY_KINDS,
  ALLOWED_JWT_ALGORITHMS,
  agencyIdSchema,
  agencyKindSchema,
  countryCodeSchema,
  identitySchema,
  MAX_TOKEN_LIFETIME_SECONDS,
  officerIdSchema,
  ROLES,
  ROLES_BY_AGENCY_KIND,
  roleSchema,
} from './identity.js';
export { PROTOCOL_VERSION } from './version.js';
