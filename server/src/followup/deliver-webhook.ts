import type { QueryEvent } from '@ncp-hub/protocol';
import { UnrecoverableError } from 'bullmq';
import { CompactSign } from 'jose';
import type { HubKey } from '../identity/hub-key.js';

/** Media type of a webhook body: a compact JWS over the notification. */
export const WEBHOOK_CONTENT_TYPE = 'application/jose';
/** `typ` of the webhook JWS. */
export const WEBHOOK_JWS_TYPE = 'ncp-notification+jws';

/**
 * POSTs a query notification to an NCB's own system: the body is a compact JWS signed by the
 * hub key (verify with `GET /v1/hub-keys`), `Idempotency-Key` is the notification id. A
 * network error, a 5xx, 408 or 429 is retried by the job; any other 4xx is final.
 */
export async function deliverWebhook(url: string, ncb: string, event: QueryEvent, hubKey: HubKey): Promise<void> {
  const payload = new TextEncoder().encode(JSON.stringify({ ncb, event }));
  const jws = await new CompactSign(payload)
    .setProtectedHeader({ alg: 'EdDSA', kid: hubKey.kid, typ: WEBHOOK_JWS_TYPE })
    .sign(hubKey.privateKey);
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': WEBHOOK_CONTENT_TYPE, 'idempotency-key': event.id },
    body: jws,
    signal: AbortSignal.timeout(10_000),
  });
  if (response.ok) return;
  const retry = response.status >= 500 || response.status === 408 || response.status === 429;
  const message = `webhook of ${ncb} answered HTTP ${response.status}`;
  throw retry ? new Error(message) : new UnrecoverableError(message);
}
