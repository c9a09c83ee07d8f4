// An officer's follow-up of a query: registering the formal request, withdrawal, reminders and escalations.
// English and Ukrainian side by side; en.ts and uk.ts spread them into the catalogues.

export const followUpEn = {} as const;

export const followUpUk: Record<keyof typeof followUpEn, string> = {};
