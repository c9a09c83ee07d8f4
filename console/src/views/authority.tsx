import type { Language, Translate } from '../i18n/index.js';
import type { Session } from '../session.js';
import { Heading } from './heading.js';

// Placeholder until the view lands (issue 10): its owner replaces this file.
export function CentralAuthority(_props: { t: Translate; language: Language; session: Session }) {
  return (
    <section aria-labelledby="view-title" class="view">
      <Heading>CentralAuthority</Heading>
    </section>
  );
}
