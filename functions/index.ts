import { createApp } from "./app";
import { cacheInvalidationJob } from "./cron/cache-invalidations";
import type { Env } from "./env";
import { runCronJobs, type CronJob } from "./scheduled";

const app = createApp();

/** Jobs run on every Cron Trigger firing; each dispatches on `controller.cron` itself. */
const cronJobs: CronJob[] = [
  cacheInvalidationJob,
];

export default {
  fetch: app.fetch,
  scheduled: (controller, env, ctx) => runCronJobs(cronJobs, controller, env, ctx),
} satisfies ExportedHandler<Env>;
