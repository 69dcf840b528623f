import { z } from "@hono/zod-openapi";
import type { Env } from "../env";

/**
 * The one way Worker variables are parsed. Each surface declares its variables as zod schemas
 * (from the string wrangler gives, or undefined when unset, to the typed value) and builds its
 * config from them with {@link defineConfig}. A config is parsed once per `env` object (an
 * isolate keeps the same one across requests), and a variable that is set but invalid throws
 * one {@link ConfigError} naming it: HTTP answers 500 `misconfigured`, a cron firing logs it.
 */

/** A Worker variable is set to a value it cannot have. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    /** The variable's name, e.g. "REDIS_TIMEOUT_MS". */
    readonly variable: string,
    /** What is wrong, without the name, e.g. "must be an integer from 50 to 30000". */
    readonly problem: string,
  ) {
    super(`${variable} ${problem}`);
  }
}

/** A schema for one variable: unset (or empty) gives the default. */
export type VarSchema<T> = z.ZodType<T, unknown>;

type Values<S extends Record<string, VarSchema<unknown>>> = { [K in keyof S]: z.output<S[K]> };

/**
 * Declares a config: the variables it reads and how it is built from their values.
 * @returns a reader that parses once per `env` and throws the same ConfigError every time
 * @example
 * export const readLockConfig = defineConfig({ LOCK_DEFAULT_TTL_MS: intVar(10_000, 1, 300_000) },
 *   (v) => ({ defaultTtlMs: v.LOCK_DEFAULT_TTL_MS }));
 */
export function defineConfig<S extends Record<string, VarSchema<unknown>>, T>(
  vars: S & { [K in keyof S]: K extends keyof Env ? S[K] : never },
  build: (values: Values<S>) => T,
): (env: Env) => T {
  const parsed = new WeakMap<Env, { value: T } | { error: unknown }>();
  return (env) => {
    let outcome = parsed.get(env);
    if (outcome === undefined) {
      try {
        outcome = { value: build(parseVars(env, vars)) };
      } catch (error) {
        outcome = { error };
      }
      parsed.set(env, outcome);
    }
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  };
}

function parseVars<S extends Record<string, VarSchema<unknown>>>(env: Env, vars: S): Values<S> {
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(vars)) {
    const raw = (env as Record<string, unknown>)[name];
    const result = schema.safeParse(raw === "" ? undefined : raw);
    if (!result.success) throw new ConfigError(name, describe(result.error));
    values[name] = result.data;
  }
  return values as Values<S>;
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "is invalid";
  const at = issue.path.length > 0 ? ` at ${issue.path.join(".")}` : "";
  return issue.message.startsWith("must ") && !at ? issue.message : `is invalid${at}: ${issue.message}`;
}

/** An integer variable within [min, max]. */
export function intVar(fallback: number, min: number, max: number): VarSchema<number> {
  return rangeVar(fallback, min, max, "integer");
}

/** A decimal number variable within [min, max]. */
export function numberVar(fallback: number, min: number, max: number): VarSchema<number> {
  return rangeVar(fallback, min, max, "number");
}

function rangeVar(fallback: number, min: number, max: number, kind: "integer" | "number"): VarSchema<number> {
  const message = `must be ${kind === "integer" ? "an integer" : "a number"} from ${min} to ${max}`;
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      const value = Number(raw);
      const wellFormed = kind === "integer" ? /^-?\d+$/.test(raw.trim()) && Number.isSafeInteger(value) : raw.trim() !== "" && Number.isFinite(value);
      if (!wellFormed || value < min || value > max) {
        ctx.addIssue({ code: "custom", message });
        return z.NEVER;
      }
      return value;
    });
}

/** A string variable matching `pattern` (`message` says what it must be). */
export function stringVar<F extends string | undefined>(fallback: F, pattern: RegExp, message: string): VarSchema<string | F> {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      if (!pattern.test(raw)) {
        ctx.addIssue({ code: "custom", message });
        return z.NEVER;
      }
      return raw;
    });
}

/** "true" or "false" (unset: `fallback`). */
export function flagVar(fallback: boolean): VarSchema<boolean> {
  return z
    .enum(["true", "false"], { error: 'must be "true" or "false"' })
    .optional()
    .transform((raw) => (raw === undefined ? fallback : raw === "true"));
}

/**
 * A JSON variable validated by `schema`; unset gives `fallback`. wrangler may pass a TOML
 * table as an object instead of a string; both are accepted.
 */
export function jsonVar<T>(schema: z.ZodType<T>, fallback: unknown): VarSchema<T> {
  return z
    .unknown()
    .transform((raw, ctx) => {
      if (raw === undefined) return fallback;
      if (typeof raw !== "string") return raw;
      try {
        return JSON.parse(raw) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "must be valid JSON" });
        return z.NEVER;
      }
    })
    .pipe(schema);
}

/** The prefix of every Redis key the Worker writes. */
export const KEY_PREFIX = /^[A-Za-z0-9_.-]{1,64}$/;

/** The Worker's own settings (README "Configuration"). */
export interface Config {
  redisTimeoutMs: number;
  redisRetries: number;
  maxBodyBytes: number;
  keyPrefix: string;
}

/** Reads REDIS_TIMEOUT_MS, REDIS_RETRIES, MAX_BODY_BYTES and KEY_PREFIX. */
export const readConfig = defineConfig(
  {
    REDIS_TIMEOUT_MS: intVar(1500, 50, 30_000),
    REDIS_RETRIES: intVar(1, 0, 3),
    MAX_BODY_BYTES: intVar(1024 * 1024, 1024, 10 * 1024 * 1024),
    KEY_PREFIX: stringVar("erf", KEY_PREFIX, "must be 1-64 characters of A-Z a-z 0-9 _ . -"),
  },
  (v): Config => ({
    redisTimeoutMs: v.REDIS_TIMEOUT_MS,
    redisRetries: v.REDIS_RETRIES,
    maxBodyBytes: v.MAX_BODY_BYTES,
    keyPrefix: v.KEY_PREFIX,
  }),
);
