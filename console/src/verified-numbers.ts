// The safety numbers this officer compared out of band and marked verified, per correspondent,
// kept in the browser: when the number shown later differs (a device added, or keys changed),
// the conversation says so instead of showing the mark.
//
// Where: a small database of its own per identity (`ncp-console-verified:<agency>:<officer>`),
// beside the message history and apart from the key store, for the same reason as the history
// (moving the device's keys never touches it). The SDK's IndexedDbKeyStore serves as a plain
// JSON key-value store.
import { IndexedDbKeyStore } from '@ncp-hub/client-sdk';
import { type OfficerRef, officerAddress } from '@ncp-hub/protocol';

/** A safety number marked verified, and when. */
export interface VerifiedNumber {
  number: string;
  at: number;
}

const stores = new Map<string, Promise<IndexedDbKeyStore>>();

/** The verified numbers of one identity in this browser. */
export class VerifiedNumbers {
  readonly #store: Promise<IndexedDbKeyStore>;

  constructor(identity: OfficerRef) {
    const name = `ncp-console-verified:${identity.agency}:${identity.officer}`;
    let store = stores.get(name);
    if (!store) {
      store = IndexedDbKeyStore.open({ name });
      stores.set(name, store);
    }
    this.#store = store;
  }

  /** The number marked verified for `correspondent`, if any. */
  async get(correspondent: OfficerRef): Promise<VerifiedNumber | undefined> {
    return (await (await this.#store).get<VerifiedNumber>(officerAddress(correspondent))) ?? undefined;
  }

  /** Marks `number` verified for `correspondent` (compared out of band). */
  async mark(correspondent: OfficerRef, number: string): Promise<VerifiedNumber> {
    const verified = { number, at: Date.now() };
    await (await this.#store).set(officerAddress(correspondent), verified);
    return verified;
  }

  /** Removes the mark. */
  async unmark(correspondent: OfficerRef): Promise<void> {
    await (await this.#store).delete(officerAddress(correspondent));
  }
}
