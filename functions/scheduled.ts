import { RedisUnavailableError } from "../shared/errors";
import type { Env } from "./env";
import { ConfigError } from "./platform/config";
import { RedisNotConfiguredError } from "./platform/redis";

/** A job the cron dispatcher runs; it decides from `controller.cron` whether it applies. */
export type CronJob = (controller: ScheduledController, env: Env, ctx: ExecutionContext) => Promise<void>;

/**
 * Runs every job for this cron firing. Jobs run concurrently and independently: one failing
 * (Redis down, say) does not stop the others; each failure is logged in one line and rethrown
 * at the end (several as an AggregateError) so the Cron Trigger is recorded as failed and its
 * next firing retries.
 */
export async function runCronJobs(
  jobs: readonly CronJob[],
  controller: ScheduledController,
  env: Env,
  ctx: ExecutionContext,
): Promise<void> {
  const results = await Promise.allSettled(jobs.map((job) => job(controller, env, ctx)));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
  for (const failure of failures) console.error(`cron ${controller.cron} job failed: ${describe(failure.reason)}`);
  if (failures.length === 1) throw failures[0]!.reason;
  if (failures.length > 1) throw new AggregateError(failures.map((f) => f.reason), `${failures.length} cron jobs failed for ${controller.cron}`);
}

/**
 * A failure as one log line: a known configuration or availability problem by its message
 * (it names the variable), anything else with its stack, since it is a bug.
 */
function describe(error: unknown): string {
  if (error instanceof ConfigError || error instanceof RedisNotConfiguredError || error instanceof RedisUnavailableError) {
    return `${error.name}: ${error.message}`;
  }
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}
