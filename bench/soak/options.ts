import type { WorkerRuntime } from "../stack";

/** How long and how wide a soak runs, what runs the Worker, and where its report goes. */
export interface SoakOptions {
  seconds: number;
  clients: number;
  runtime: WorkerRuntime;
  /** Directory of soak.json and soak.md. */
  outDir: string;
}

/**
 * Reads `--seconds N`, `--clients N`, `--runtime wrangler-dev|miniflare` and `--out DIR` from
 * `argv`, else `SOAK_SECONDS`, `SOAK_CLIENTS`, `SOAK_RUNTIME` and `SOAK_OUT` from `env`, else
 * 60 s, 64 clients, `wrangler-dev` and `defaultOutDir`.
 * @throws Error naming the setting when a value is not a positive whole number (or is absurd).
 */
export function parseSoakOptions(argv: readonly string[], env: NodeJS.ProcessEnv, defaultOutDir: string): SoakOptions {
  const flag = (name: string) => {
    const at = argv.indexOf(`--${name}`);
    if (at >= 0) return argv[at + 1];
    return argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  };
  const whole = (label: string, raw: string | undefined, fallback: number, max: number) => {
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${label} must be a whole number from 1 to ${max}, got '${raw}'`);
    return n;
  };
  return {
    seconds: whole("--seconds (SOAK_SECONDS)", flag("seconds") ?? env.SOAK_SECONDS, 60, 24 * 3600),
    clients: whole("--clients (SOAK_CLIENTS)", flag("clients") ?? env.SOAK_CLIENTS, 64, 1024),
    runtime: runtimeOf(flag("runtime") ?? env.SOAK_RUNTIME),
    outDir: flag("out") ?? (env.SOAK_OUT || defaultOutDir),
  };
}

function runtimeOf(raw: string | undefined): WorkerRuntime {
  if (raw === undefined || raw === "" || raw === "wrangler-dev") return "wrangler-dev";
  if (raw === "miniflare") return "miniflare";
  throw new Error(`--runtime (SOAK_RUNTIME) must be wrangler-dev or miniflare, got '${raw}'`);
}
