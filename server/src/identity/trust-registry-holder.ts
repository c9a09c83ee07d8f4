import { type FSWatcher, watch } from 'node:fs';
import { loadTrustRegistry, type TrustRegistry } from '@ncp-hub/keys';
import type { Logger } from '../logger.js';

/**
 * Holds the current trust registry and reloads it when its folder changes. A reload that
 * fails (a bad file) keeps the registry in force and logs the problem with the file name.
 */
export class TrustRegistryHolder {
  readonly dir: string;
  private readonly logger: Logger;
  #current: TrustRegistry;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<() => void>();

  private constructor(dir: string, registry: TrustRegistry, logger: Logger) {
    this.dir = dir;
    this.logger = logger;
    this.#current = registry;
  }

  /** Loads the folder (throwing `RegistryError` if any file is bad) and watches it. */
  static async open(dir: string, logger: Logger): Promise<TrustRegistryHolder> {
    const holder = new TrustRegistryHolder(dir, await loadTrustRegistry(dir), logger);
    holder.#watcher = watch(dir, () => holder.#scheduleReload());
    holder.#watcher.on('error', (error) => logger.error({ err: error }, 'trust registry: watching the folder failed'));
    logger.info({ dir, agencies: holder.#current.size }, 'trust registry loaded');
    return holder;
  }

  /** The registry in force. */
  get current(): TrustRegistry {
    return this.#current;
  }

  #scheduleReload(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#reloading = this.#reloading.then(() => this.reload());
    }, 100);
  }

  /** Reloads the folder now. Resolves to whether the new registry took effect. */
  async reload(): Promise<boolean> {
    try {
      this.#current = await loadTrustRegistry(this.dir);
      this.logger.info({ agencies: this.#current.size }, 'trust registry reloaded');
      for (const listener of this.#listeners) listener();
      return true;
    } catch (error) {
      this.logger.error({ problem: (error as Error).message }, 'trust registry reload failed; the previous one stays');
      return false;
    }
  }

  /** Calls `listener` after every reload that took effect. */
  onReload(listener: () => void): void {
    this.#listeners.add(listener);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }
}
