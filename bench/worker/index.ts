import { createApp } from "../../functions/app";
import { scheduled } from "../../functions/index";
import type { Env } from "../../functions/env";
import { requireApiToken } from "../../functions/platform/auth";
import { benchRoutes } from "./baseline";
import { benchCacheRoutes } from "./cache";
import { benchLockRoutes } from "./lock";
import { benchRateLimitRoutes } from "./ratelimit";

/**
 * The bench-only Worker (`bench/wrangler.toml`, used by `npm run bench`): the production app
 * plus the `/__bench/*` routes that run one core operation per request, and the anchor
 * packages they compare with (`@upstash/ratelimit`, `@upstash/lock`, devDependencies). None of
 * this is in the production bundle (a test builds it and checks).
 */
const app = createApp();
// They write to Redis: never open.
app.use("/__bench/*", requireApiToken);
app.route("/", benchRoutes);
app.route("/", benchCacheRoutes);
app.route("/", benchRateLimitRoutes);
app.route("/", benchLockRoutes);

export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<Env>;
