import { type FSWatcher, watch } from 'node:fs';
import {
  loadTrustRegistry,
  type RegistryChanges,
  type RegistryFileProblem,
  registryChanges,
  reloadTrustRegistry,
  type TrustRegistry,
} from '@ncp-hub/keys';
import type { Logger } from '../logger.js';

/**
 * Holds the current trust registry and reloads it when its folder changes. A reload applies
 * each file on its own (`reloadTrustRegistry`): a bad file keeps its agency's last good
 * version (a new bad file loads nothing) while the changes of every other file take effect;
 * the bad files are logged and listed in {@link badFiles} (`/readyz`, `/metrics`) until they
 * are fixed or removed. A folder that cannot be read or holds no agency file keeps the
 * registry in force whole.
 */
export class TrustRegistryHolder {
  readonly dir: string;
  private readonly logger: Logger;
  #current: TrustRegistry;
  #problems: readonly RegistryFileProblem[] = [];
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reloading: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<(changes: RegistryChanges) => void>();

  private constructor(dir: string, registry: TrustRegistry, logger: Logger) {
    this.dir = dir;
    this.logger = logger;
    this.#current = registry;
  }

  /** Loads the folder (throwing `RegistryError` if any file is bad: a bad registry stops the start) and watches it. */
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

  /**
   * The names of the files the last reload could not load (`.` for the folder itself), sorted;
   * empty when every file is good.
   */
  get badFiles(): readonly string[] {
    return this.#problems.map((problem) => problem.file);
  }

  /** The files the last reload could not load, with their problems (for logs: they name paths). */
  get problems(): readonly RegistryFileProblem[] {
    return this.#problems;
  }

  #scheduleReload(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.reload(), 100);
  }

  /**
   * Reloads the folder now, after any reload under way. Resolves to whether every file loaded;
   * when some did not, the others took effect all the same (see the class).
   */
  reload(): Promise<boolean> {
    const run = this.#reloading.then(() => this.#reload());
    this.#reloading = run.catch(() => false);
    return run;
  }

  async #reload(): Promise<boolean> {
    const before = new Set(this.badFiles);
    let reloaded: Awaited<ReturnType<typeof reloadTrustRegistry>>;
    try {
      reloaded = await reloadTrustRegistry(this.dir, this.#current);
    } catch (error) {
      this.#problems = [{ file: '.', problem: (error as Error).message }];
      this.logger.error({ problem: (error as Error).message }, 'trust registry reload failed; the previous one stays');
      return false;
    }
    const changes = registryChanges(this.#current, reloaded.registry);
    this.#current = reloaded.registry;
    this.#problems = reloaded.badFiles;
    for (const { file, problem } of reloaded.badFiles) {
      const kept = this.#current.get(file.replace(/\.json$/, '')) !== undefined;
      this.logger.error(
        { file, problem, kept },
        kept
          ? 'trust registry file not loaded; its last good version stays in force'
          : 'trust registry file not loaded',
      );
    }
    for (const file of before) {
      if (!this.badFiles.includes(file)) this.logger.info({ file }, 'trust registry file good again');
    }
    this.logger.info({ agencies: this.#current.size, badFiles: this.badFiles }, 'trust registry reloaded');
    for (const listener of this.#listeners) {
      try {
        listener(changes);
      } catch (error) {
        this.logger.error({ err: error }, 'trust registry reload listener failed');
      }
    }
    return reloaded.badFiles.length === 0;
  }

  /**
   * Calls `listener` after every reload that took effect, whole or in part (some files bad),
   * with what changed: the agencies whose entry differs or is gone, and the officers and
   * devices newly revoked.
   */
  onReload(listener: (changes: RegistryChanges) => void): void {
    this.#listeners.add(listener);
  }

  close(): void {
    clearTimeout(this.#timer);
    this.#watcher?.close();
  }
}
