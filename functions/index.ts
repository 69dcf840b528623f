import { createApp } from "./app";
import { cacheInvalidationJob } from "./cache/cron";
import type { Env } from "./env";
import { runCronJobs, type CronJob } from "./scheduled";

const app = createApp();

/** Jobs run on every Cron Trigger firing; each dispatches on `controller.cron` itself. */
const cronJobs: CronJob[] = [cacheInvalidationJob];

/** The Worker's `scheduled` handler: every cron job of every feature. */
export const scheduled: ExportedHandlerScheduledHandler<Env> = (controller, env, ctx) => runCronJobs(cronJobs, controller, env, ctx);

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
