/**
 * Two liaison officers of two states talk end to end through the hub.
 *
 * An officer of the National Police of Ukraine (UA-NPU) and one of the Polish National Police
 * (PL-KGP) each open a device, publish the attestation their agency signed over its keys,
 * and share a direct conversation on a formal request. The Ukrainian officer sends an
 * encrypted message, the Polish device decrypts it and answers with a signed delivery
 * receipt, and both compute the safety number they would compare by phone.
 *
 * Run it against a hub in development mode (`npm start` in another terminal):
 *
 * ```sh
 * npm run example:two-officers
 * ```
 */
import { nextEvent, openOfficerDevice, runExample, step } from './example-support.js';

const UA = { agency: 'UA-NPU', officer: 'ua.officer' } as const;
const PL = { agency: 'PL-KGP', officer: 'pl.officer' } as const;
const TEXT = 'Suspect vehicle AB1234 crossed the border at Yahodyn at 14:05, heading for Lublin.';

await runExample('two officers of two states, end to end', async (keysDir) => {
  const ua = await openOfficerDevice({ keysDir, ...UA, roles: ['officer'], device: 'ua-laptop' });
  step(`${UA.agency} ${UA.officer}: device ua-laptop connected, attestation from ${UA.agency} published`);
  const pl = await openOfficerDevice({ keysDir, ...PL, roles: ['officer'], device: 'pl-laptop' });
  step(`${PL.agency} ${PL.officer}: device pl-laptop connected, attestation from ${PL.agency} published`);

  const conversation = await ua.createConversation({
    kind: 'direct',
    members: [PL],
    basis: { type: 'formal-request', reference: 'MLA/2026/0042', caseReference: '12026100000000042' },
  });
  step(
    `${UA.officer} created direct conversation ${conversation.id} with ${PL.officer} (formal request MLA/2026/0042)`,
  );

  // Both listeners before the send: the receipt can come back before send() has resolved.
  const received = nextEvent(pl, 'message', (m) => m.conversation === conversation.id, `${PL.officer} got nothing`);
  const delivered = nextEvent(
    ua,
    'receipt',
    (r) => r.type === 'delivered' && r.conversation === conversation.id,
    `no delivery receipt in ${conversation.id}`,
  );
  const { id } = await ua.send(conversation.id, TEXT);
  step(`${UA.officer} sent message ${id}, encrypted on the device, signed by ua-laptop; the hub stored it`);

  const message = await received;
  if (message.content.type !== 'text' || message.content.text !== TEXT) {
    throw new Error(`${PL.officer} decrypted something else than what was sent`);
  }
  step(
    `${PL.officer} received and decrypted message ${message.id} from ${message.from.agency}/${message.from.officer}:`,
  );
  console.log(`      "${message.content.text}"`);

  const receipt = await delivered;
  if (!receipt.messageIds.includes(id)) throw new Error(`the delivered receipt is not for message ${id}`);
  step(
    `${UA.officer} got the delivered receipt, signed by ${receipt.by.agency}/${receipt.by.officer}/${receipt.by.device}`,
  );

  const uaNumber = await ua.safetyNumber(PL);
  const plNumber = await pl.safetyNumber(UA);
  step(`safety numbers, to compare by phone:`);
  console.log(`      ${UA.officer} sees ${uaNumber}`);
  console.log(`      ${PL.officer} sees ${plNumber}`);
  if (uaNumber !== plNumber) throw new Error('the safety numbers differ: a key was substituted');
  console.log('OK: message delivered end to end, receipt verified, safety numbers match');
});
