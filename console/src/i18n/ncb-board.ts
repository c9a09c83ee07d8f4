// The NCB desk's board of open follow-ups, its filters and desktop notifications.
// English and Ukrainian side by side; en.ts and uk.ts spread them into the catalogues.

export const ncbBoardEn = {} as const;

export const ncbBoardUk: Record<keyof typeof ncbBoardEn, string> = {};
