import { readFileSync } from "node:fs";

/**
 * The names of every variable and secret the Worker reads, taken from the `Env` interface in
 * `functions/env.ts` (the one list, also documented in README "Configuration"), so the
 * launcher never falls out of step with the Worker.
 */
export function workerVariableNames(envFile: string): string[] {
  const source = readFileSync(envFile, "utf8");
  return [...source.matchAll(/^\s+([A-Z][A-Z0-9_]*)\??\s*:/gm)].map((m) => m[1]!);
}
