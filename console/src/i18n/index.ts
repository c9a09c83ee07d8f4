import { type Catalogue, en, type MessageKey } from './en.js';
import { uk } from './uk.js';

export type { MessageKey } from './en.js';

/** The languages of the console, each with its name in itself. */
export const LANGUAGES = { en: 'English', uk: 'Українська' } as const;
export type Language = keyof typeof LANGUAGES;

const CATALOGUES: Record<Language, Catalogue> = { en, uk };
const STORAGE_KEY = 'ncp-console:language';

/** The language chosen with the switch, else the browser's first of ours, else English. */
export function initialLanguage(): Language {
  const chosen = localStorage.getItem(STORAGE_KEY);
  if (chosen && chosen in LANGUAGES) return chosen as Language;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0];
    if (base && base in LANGUAGES) return base as Language;
  }
  return 'en';
}

/** Remembers the switch's choice, and sets the document's language. */
export function chooseLanguage(language: Language): void {
  localStorage.setItem(STORAGE_KEY, language);
  document.documentElement.lang = language;
}

/** A message in `language`, with `{name}` replaced by `params.name`. */
export function translate(language: Language, key: MessageKey, params: Record<string, string | number> = {}): string {
  return CATALOGUES[language][key].replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in params ? String(params[name]) : whole,
  );
}

/** A translator bound to a language. */
export type Translate = (key: MessageKey, params?: Record<string, string | number>) => string;
