import type { CacheOptions, InvalidationMode, SchedulerOptions } from "../shared/cache";
import { InvalidInputError } from "../shared/errors";
import { validateTags } from "../shared/cache";
import type { Config } from "./config";
import { intVar, jsonVar, misconfigured, perEnv } from "./config";

/** Tags a cron expression invalidates when it fires (INVALIDATION_RULES). */
export interface InvalidationRule {
  tags: string[];
  mode: InvalidationMode;
}

/** The cache's vars, parsed and validated (docs/cache.md, "Configuration"). */
export interface CacheConfig {
  maxValueBytes: number;
  leaseMs: number;
  waitMs: number;
  xfetchBeta: number;
  /** Undefined: the default `<KEY_PREFIX>:cache:invalidations`. */
  channel: string | undefined;
  cronBatchSize: number;
  cronMaxBatches: number;
  /** Normalised cron expression (single spaces) → rule. */
  rules: Map<string, InvalidationRule>;
  /** Without trailing slash; undefined when the proxy is off. */
  originUrl: string | undefined;
  originTimeoutMs: number;
}

/** Reads the cache's vars once per `env` object; an invalid one is a 500 naming it. */
export const readCacheConfig = perEnv(
  (env): CacheConfig => ({
    maxValueBytes: intVar(env, "CACHE_MAX_VALUE_BYTES", 1024 * 1024, 1024, 10 * 1024 * 1024),
    leaseMs: intVar(env, "CACHE_LEASE_MS", 5000, 100, 60_000),
    waitMs: intVar(env, "CACHE_WAIT_MS", 2000, 0, 30_000),
    xfetchBeta: betaVar(env.CACHE_XFETCH_BETA),
    channel: channelVar(env.CACHE_CHANNEL),
    cronBatchSize: intVar(env, "CACHE_CRON_BATCH_SIZE", 100, 1, 1000),
    cronMaxBatches: intVar(env, "CACHE_CRON_MAX_BATCHES", 10, 1, 100),
    rules: rulesVar(jsonVar(env, "INVALIDATION_RULES", {})),
    originUrl: originVar(env.ORIGIN_URL),
    originTimeoutMs: intVar(env, "ORIGIN_TIMEOUT_MS", 5000, 100, 30_000),
  }),
);

/** Options for a core `Cache` built from the Worker's config (the caller adds its in-flight map). */
export function cacheOptions(config: Config, cache: CacheConfig, namespace: "kv" | "proxy" = "kv"): CacheOptions {
  return {
    prefix: config.keyPrefix,
    namespace,
    maxValueBytes: cache.maxValueBytes,
    leaseMs: cache.leaseMs,
    waitMs: cache.waitMs,
    xfetchBeta: cache.xfetchBeta,
    ...(cache.channel ? { channel: cache.channel } : {}),
  };
}

/** Options for the `InvalidationScheduler` beside that cache: same prefix and channel. */
export function schedulerOptions(config: Config, cache: CacheConfig): SchedulerOptions {
  return { prefix: config.keyPrefix, ...(cache.channel ? { channel: cache.channel } : {}) };
}

/** A cron expression as Cloudflare reports it in `controller.cron`, with single spaces. */
export function normaliseCron(expression: string): string {
  return expression.trim().split(/\s+/).join(" ");
}

function betaVar(raw: string | undefined): number {
  if (raw === undefined || raw === "") return 0;
  const beta = Number(raw);
  if (!Number.isFinite(beta) || beta < 0 || beta > 10) throw misconfigured("CACHE_XFETCH_BETA must be a number from 0 to 10");
  return beta;
}

function channelVar(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (raw.length > 256 || /[\u0000-\u0020\u007f]/.test(raw)) {
    throw misconfigured("CACHE_CHANNEL must be 1-256 characters without spaces or control characters");
  }
  return raw;
}

function originVar(raw: string | undefined): string | undefined {
  if (raw === undefined || raw === "") return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw misconfigured("ORIGIN_URL must be an absolute http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw misconfigured("ORIGIN_URL must be an absolute http(s) URL");
  if (url.search || url.hash) throw misconfigured("ORIGIN_URL must not have a query or fragment");
  return url.href.replace(/\/+$/, "");
}

/**
 * INVALIDATION_RULES: `{ "<cron>": ["tag", ...] }` or `{ "<cron>": { "tags": [...], "mode": "soft" } }`.
 * Each cron expression must also be listed in wrangler.toml `[triggers] crons`, or it never fires.
 */
function rulesVar(value: unknown): Map<string, InvalidationRule> {
  const fail = (detail: string) => misconfigured(`INVALIDATION_RULES ${detail}`);
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw fail("must be a JSON object of cron expression → tags");
  const rules = new Map<string, InvalidationRule>();
  for (const [expression, rule] of Object.entries(value)) {
    const cron = normaliseCron(expression);
    if (cron.split(" ").length !== 5) throw fail(`key "${expression}" must be a 5-field cron expression`);
    const spec = Array.isArray(rule) ? { tags: rule as unknown } : (rule as { tags?: unknown; mode?: unknown } | null);
    if (typeof spec !== "object" || spec === null) throw fail(`"${expression}" must be a tag array or { tags, mode }`);
    const mode = spec.mode ?? "hard";
    if (mode !== "hard" && mode !== "soft") throw fail(`"${expression}" mode must be "hard" or "soft"`);
    let tags: string[];
    try {
      tags = validateTags(spec.tags as string[]);
    } catch (error) {
      if (error instanceof InvalidInputError) throw fail(`"${expression}": ${error.message}`);
      throw error;
    }
    if (tags.length === 0) throw fail(`"${expression}" must name at least one tag`);
    rules.set(cron, { tags, mode });
  }
  return rules;
}
