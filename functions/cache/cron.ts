import { Cache, InvalidationScheduler, type InvalidationEvent } from "../../shared/cache";
import { cacheOptions, normaliseCron, readCacheConfig, schedulerOptions } from "./config";
import { readConfig } from "../platform/config";
import { redisFor } from "../platform/redis";
import type { CronJob } from "../scheduled";

/**
 * The cache's cron job, run on every Cron Trigger firing:
 *
 * - applies scheduled invalidations that are due: due means `at` ≤ max(Redis time,
 *   `controller.scheduledTime`), so an item is applied by the first firing at or after its time
 *   (with the per-minute cron, within about a minute), in batches of CACHE_CRON_BATCH_SIZE, at
 *   most CACHE_CRON_MAX_BATCHES per firing (the rest wait for the next one);
 * - if INVALIDATION_RULES has a rule for `controller.cron`, invalidates its tags;
 * - prunes one slice of the tag table (tags no live entry can carry any more).
 *
 * Each batch is claimed, applied, published and removed by one script, so overlapping firings
 * never apply an item twice and a firing that dies loses nothing (see shared/cache/schedule.ts).
 */
export const cacheInvalidationJob: CronJob = async (controller, env) => {
  const config = readConfig(env);
  const cacheConfig = readCacheConfig(env);
  const redis = redisFor(env, config);
  const scheduler = new InvalidationScheduler(redis, schedulerOptions(config, cacheConfig));
  const rule = cacheConfig.rules.get(normaliseCron(controller.cron));

  const [due, ruled] = await Promise.allSettled([
    scheduler.applyDue({ cutoffMs: controller.scheduledTime, batchSize: cacheConfig.cronBatchSize, maxBatches: cacheConfig.cronMaxBatches }),
    rule ? new Cache(redis, cacheOptions(config, cacheConfig)).invalidate(rule) : Promise.resolve<InvalidationEvent | undefined>(undefined),
  ]);
  // Upkeep last: it never delays an invalidation.
  const [pruned] = await Promise.allSettled([scheduler.pruneTags()]);
  if (due.status === "fulfilled" && (due.value.applied.length > 0 || due.value.remaining > 0)) {
    console.log(`cache cron ${controller.cron}: applied ${due.value.applied.length} scheduled invalidation(s), ${due.value.remaining} still due`);
  }
  if (ruled.status === "fulfilled" && ruled.value) {
    console.log(`cache cron ${controller.cron}: invalidated tags ${ruled.value.tags.join(", ")} (${ruled.value.mode})`);
  }
  if (pruned.status === "fulfilled" && pruned.value.removed > 0) {
    console.log(`cache cron ${controller.cron}: pruned ${pruned.value.removed} tag(s) no entry can carry any more`);
  }
  const failures = [due, ruled, pruned].filter((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failures.length > 0) throw failures[0]!.reason;
};
