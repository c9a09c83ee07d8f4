import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A follow-up policy in seconds, so a whole query lifecycle runs within a test. */
export async function writeSecondsPolicy(
  dir: string,
  times: { deadline: string; reminders: string[]; ack: string; resend: string; escalation: string },
): Promise<string> {
  const ground = { formalRequestDeadline: times.deadline, reminders: times.reminders };
  const file = join(dir, 'policy.json');
  await writeFile(
    file,
    JSON.stringify({
      grounds: { THREAT_TO_LIFE: ground, IRREVERSIBLE_LOSS: ground, ABSCONDING_RISK: ground },
      ncbAcknowledgement: { deadline: times.ack, resendEvery: times.resend },
      escalation: { repeatEvery: times.escalation },
    }),
  );
  return file;
}
