import { z } from "@hono/zod-openapi";
import type { CacheOptions, InvalidationMode, SchedulerOptions } from "../../shared/cache";
import { InvalidInputError } from "../../shared/errors";
import { validateTags } from "../../shared/cache";
import { DEFAULT_L1_BYTES } from "../../shared/cache/l1";
import type { Config } from "../platform/config";
import { MAX_L1_MS } from "../platform/max-stale";
import { defineConfig, intVar, jsonVar, numberVar, stringVar } from "../platform/config";

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
  /** Default bound of GET /v1/cache/{key} reads from the isolate's L1 (0: off unless the request asks). */
  l1DefaultMs: number;
  /** Budget of the isolate's L1 in bytes. */
  l1Bytes: number;
}

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

function originUrl(raw: string | undefined, ctx: z.RefinementCtx): string | undefined {
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be an absolute http(s) URL" });
    return z.NEVER;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    ctx.addIssue({ code: "custom", message: "must be an absolute http(s) URL" });
    return z.NEVER;
  }
  if (url.search || url.hash) {
    ctx.addIssue({ code: "custom", message: "must not have a query or fragment" });
    return z.NEVER;
  }
  return url.href.replace(/\/+$/, "");
}

const RuleSchema = z.union([z.array(z.string()), z.object({ tags: z.array(z.string()), mode: z.enum(["hard", "soft"]).optional() }).strict()]);

/**
 * INVALIDATION_RULES: `{ "<cron>": ["tag", ...] }` or `{ "<cron>": { "tags": [...], "mode": "soft" } }`.
 * Each cron expression must also be listed in wrangler.toml `[triggers] crons`, or it never fires.
 */
const RulesSchema = z.record(z.string(), RuleSchema).transform((value, ctx) => {
  const rules = new Map<string, InvalidationRule>();
  for (const [expression, rule] of Object.entries(value)) {
    const cron = normaliseCron(expression);
    const fail = (message: string) => {
      ctx.addIssue({ code: "custom", message, path: [expression] });
      return z.NEVER;
    };
    if (cron.split(" ").length !== 5) return fail("must be a 5-field cron expression");
    const spec = Array.isArray(rule) ? { tags: rule, mode: "hard" as const } : { tags: rule.tags, mode: rule.mode ?? "hard" };
    let tags: string[];
    try {
      tags = validateTags(spec.tags);
    } catch (error) {
      if (error instanceof InvalidInputError) return fail(error.message);
      throw error;
    }
    if (tags.length === 0) return fail("must name at least one tag");
    rules.set(cron, { tags, mode: spec.mode });
  }
  return rules;
});

/** Reads the cache's vars once per `env`; an invalid one is a ConfigError naming it. */
export const readCacheConfig = defineConfig(
  {
    CACHE_MAX_VALUE_BYTES: intVar(1024 * 1024, 1024, 10 * 1024 * 1024),
    CACHE_LEASE_MS: intVar(5000, 100, 60_000),
    CACHE_WAIT_MS: intVar(2000, 0, 30_000),
    CACHE_XFETCH_BETA: numberVar(0, 0, 10),
    CACHE_CHANNEL: stringVar(undefined, /^[^\u0000-\u0020\u007f]{1,256}$/, "must be 1-256 characters without spaces or control characters"),
    CACHE_CRON_BATCH_SIZE: intVar(100, 1, 1000),
    CACHE_CRON_MAX_BATCHES: intVar(10, 1, 100),
    INVALIDATION_RULES: jsonVar(RulesSchema, {}),
    ORIGIN_URL: z.string().optional().transform(originUrl),
    ORIGIN_TIMEOUT_MS: intVar(5000, 100, 30_000),
    CACHE_L1_MS: intVar(0, 0, MAX_L1_MS),
    CACHE_L1_BYTES: intVar(DEFAULT_L1_BYTES, 0, 64 * 1024 * 1024),
  },
  (v): CacheConfig => ({
    maxValueBytes: v.CACHE_MAX_VALUE_BYTES,
    leaseMs: v.CACHE_LEASE_MS,
    waitMs: v.CACHE_WAIT_MS,
    xfetchBeta: v.CACHE_XFETCH_BETA,
    channel: v.CACHE_CHANNEL,
    cronBatchSize: v.CACHE_CRON_BATCH_SIZE,
    cronMaxBatches: v.CACHE_CRON_MAX_BATCHES,
    rules: v.INVALIDATION_RULES,
    originUrl: v.ORIGIN_URL,
    originTimeoutMs: v.ORIGIN_TIMEOUT_MS,
    l1DefaultMs: v.CACHE_L1_MS,
    l1Bytes: v.CACHE_L1_BYTES,
  }),
);
