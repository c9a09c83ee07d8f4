import type { Translate } from '../i18n/index.js';
import type { Session } from '../session.js';
import { Heading } from './heading.js';

// Placeholder until the view lands (issue 10): its owner replaces this file.
export function DeviceView(_props: { t: Translate; session: Session }) {
  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>Device</Heading>
    </section>
  );
}
