// Moving a device (export and import under a passphrase) and the production sign-in hand-off.
// English and Ukrainian side by side; en.ts and uk.ts spread them into the catalogues.

export const deviceEn = {} as const;

export const deviceUk: Record<keyof typeof deviceEn, string> = {};
