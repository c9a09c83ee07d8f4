/** A trust registry file, or the folder, could not be loaded. The message names the file. */
export class RegistryError extends Error {
  readonly file: string;

  constructor(file: string, problem: string) {
    super(`trust registry: ${file}: ${problem}`);
    this.name = 'RegistryError';
    this.file = file;
  }
}
