/**
 * How much to fuzz: a fixed seed and a small count in `npm test`; `npm run fuzz` (or the
 * variables below) for a larger run. Every run prints its settings, so a failure can be
 * replayed with the same FUZZ_SEED and FUZZ_RUNS (fast-check's own message adds the `path`
 * of the failing case, for FUZZ_PATH).
 */
export interface FuzzSettings {
  /** fast-check seed. FUZZ_SEED; default fixed, so `npm test` is reproducible. */
  seed: number;
  /** Requests per operation without faults. FUZZ_RUNS; default 40. */
  runs: number;
  /** Requests per operation under each injected fault. FUZZ_FAULT_RUNS; default 3. */
  faultRuns: number;
  /** Replays one failing case (from fast-check's report). FUZZ_PATH; default none. */
  path?: string;
}

const DEFAULT_SEED = 20261130;

/** Reads the settings from the environment. */
export function fuzzSettings(env: Record<string, string | undefined> = process.env): FuzzSettings {
  const int = (name: string, fallback: number, min: number) => {
    const text = env[name];
    if (text === undefined || text === "") return fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(text)}`);
    return value;
  };
  return {
    seed: int("FUZZ_SEED", DEFAULT_SEED, -(2 ** 31)),
    runs: int("FUZZ_RUNS", 40, 1),
    faultRuns: int("FUZZ_FAULT_RUNS", 3, 1),
    ...(env.FUZZ_PATH ? { path: env.FUZZ_PATH } : {}),
  };
}
