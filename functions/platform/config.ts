import type { Env } from "./env";
import { ApiProblem } from "./problem";

/** Parsed, validated configuration of the Worker (see README "Configuration"). */
export interface Config {
  redisTimeoutMs: number;
  redisRetries: number;
  maxBodyBytes: number;
  keyPrefix: string;
  benchRoutes: boolean;
}

/**
 * Wraps a parser of vars so it runs once per `env` object (an isolate reuses it across
 * requests) and its result, or its error, is the same for every request.
 */
export function perEnv<T>(parse: (env: Env) => T): (env: Env) => T {
  const parsed = new WeakMap<Env, T>();
  return (env) => {
    let value = parsed.get(env);
    if (value === undefined) {
      value = parse(env);
      parsed.set(env, value);
    }
    return value;
  };
}

/**
 * Reads the Worker's own vars. A var that is set but invalid is an operator error: it answers
 * 500 with the var's name, never a guess.
 */
export const readConfig = perEnv(
  (env): Config => ({
    redisTimeoutMs: intVar(env, "REDIS_TIMEOUT_MS", 1500, 50, 30_000),
    redisRetries: intVar(env, "REDIS_RETRIES", 1, 0, 3),
    maxBodyBytes: intVar(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 10 * 1024 * 1024),
    keyPrefix: prefixVar(env.KEY_PREFIX),
    benchRoutes: env.ENABLE_BENCH_ROUTES === "true",
  }),
);

/** Parses an integer var within [min, max]; unset or empty gives `fallback`. */
export function intVar(env: Env, name: keyof Env, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw misconfigured(`${String(name)} must be an integer from ${min} to ${max}`);
  }
  return value;
}

/** Parses a JSON var; unset or empty gives `fallback`. */
export function jsonVar<T>(env: Env, name: keyof Env, fallback: T): unknown {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  if (typeof raw !== "string") return raw; // wrangler may pass a TOML table as an object
  try {
    return JSON.parse(raw);
  } catch {
    throw misconfigured(`${String(name)} must be valid JSON`);
  }
}

function prefixVar(raw: string | undefined): string {
  const prefix = raw === undefined || raw === "" ? "erf" : raw;
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
    throw misconfigured("KEY_PREFIX must be 1-64 characters of A-Z a-z 0-9 _ . -");
  }
  return prefix;
}

/** A 500 problem naming the var that is wrong. */
export function misconfigured(detail: string): ApiProblem {
  return new ApiProblem(500, "misconfigured", "Server misconfigured", detail);
}
