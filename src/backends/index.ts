/**
 * Registers the built-in store schemes in `taskBackends`. `local://` is not here: its store
 * lives in the arbiter (actors/local-store.ts).
 */
export {};
