// The auditor view: audit entries, filters, export, verification in the browser.
// English and Ukrainian side by side; en.ts and uk.ts spread them into the catalogues.

export const auditorEn = {} as const;

export const auditorUk: Record<keyof typeof auditorEn, string> = {};
