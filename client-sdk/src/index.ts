// The SDK's public API: every export is listed here, as each module lands.
export {};
