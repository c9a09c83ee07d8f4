// The central authority (formal requests to confirm) and the supervisor (escalations).
// English and Ukrainian side by side; en.ts and uk.ts spread them into the catalogues.

export const authorityEn = {} as const;

export const authorityUk: Record<keyof typeof authorityEn, string> = {};
