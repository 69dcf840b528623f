/**
 * `npm run fuzz`: the fuzz suite at a larger size than in `npm test`, with a new seed each run
 * unless FUZZ_SEED is given. The suite prints the settings first, so a failure can be replayed:
 * `FUZZ_SEED=<seed> FUZZ_RUNS=<runs> npm run fuzz` (add FUZZ_PATH=<path> from fast-check's
 * report to replay only the failing case).
 */
import { spawn } from "node:child_process";
import { randomInt } from "node:crypto";
import { repoRoot } from "../processes";

const env = {
  ...process.env,
  FUZZ_SEED: process.env.FUZZ_SEED || String(randomInt(2 ** 31 - 1)),
  FUZZ_RUNS: process.env.FUZZ_RUNS || "500",
  FUZZ_FAULT_RUNS: process.env.FUZZ_FAULT_RUNS || "20",
};
const child = spawn("npx", ["vitest", "run", "--project", "node", "test/node/fuzz.test.ts"], { cwd: repoRoot, env, stdio: "inherit" });
const forward = (signal: NodeJS.Signals) => child.kill(signal);
process.on("SIGINT", forward);
process.on("SIGTERM", forward);
child.on("exit", (code, signal) => {
  if (code !== 0) console.log(`fuzz failed; replay with FUZZ_SEED=${env.FUZZ_SEED} FUZZ_RUNS=${env.FUZZ_RUNS} FUZZ_FAULT_RUNS=${env.FUZZ_FAULT_RUNS} npm run fuzz`);
  process.exit(code ?? (signal ? 1 : 0));
});
