import { relative } from "node:path";
import type { CronSettings } from "./crons";
import type { DevToken } from "./dev-token";

/** What {@link devBanner} reports. */
export interface DevBannerInfo {
  root: string;
  workerUrl: string;
  apiToken: string;
  /** Set when the token is the kept development token (not from the environment or .dev.vars). */
  devToken?: DevToken;
  crons: readonly string[];
  cron: CronSettings;
  originUrl?: string;
  demoOrigin: boolean;
  endpointUrl?: string;
  redis?: { port: number; dir: string };
}

/** The one block `npm start` prints once the Worker is ready: where things are, and how to change them. */
export function devBanner(info: DevBannerInfo): string {
  const where = (path: string) => (path.startsWith(info.root) ? relative(info.root, path) : path);
  const { workerUrl } = info;
  const token = info.devToken
    ? `${info.devToken.created ? "generated, " : ""}kept in ${where(info.devToken.path)} (mode 0600); delete that file to rotate it`
    : "from API_TOKEN (environment or .dev.vars)";
  const crons =
    info.crons.length === 0
      ? "none in wrangler.toml"
      : !info.cron.enabled
        ? `off (LOCAL_CRONS=off); fire one by hand: curl "${workerUrl}/__scheduled?cron=${encodeURIComponent(info.crons[0]!)}"`
        : `${info.crons.map((c) => `"${c}"`).join(", ")} fire on schedule, in UTC` +
          (info.cron.speedup > 1 ? `, clock ${info.cron.speedup}x faster (LOCAL_CRON_SPEEDUP)` : "") +
          "; LOCAL_CRONS=off turns them off";
  const origin = info.originUrl
    ? `${info.originUrl}${info.demoOrigin ? " (demo origin)" : ""} behind ${workerUrl}/v1/proxy/…`
    : "ORIGIN_URL is not set: /v1/proxy/… answers 503 (DEMO_ORIGIN=1 npm start runs a demo origin)";
  return [
    "",
    `  Worker:    ${workerUrl}   (docs ${workerUrl}/docs, health ${workerUrl}/health)`,
    `  API token: ${info.apiToken}`,
    `             ${token}`,
    `  Crons:     ${crons}`,
    `  Origin:    ${origin}`,
    ...(info.endpointUrl ? [`  Redis REST endpoint: ${info.endpointUrl}`] : []),
    ...(info.redis ? [`  Redis:     redis://127.0.0.1:${info.redis.port} (private, password-protected; data in ${where(info.redis.dir)})`] : []),
    "",
    `  Serves only requests for 127.0.0.1, localhost or [::1] on this port; cron triggers refuse cross-site pages.`,
    "",
    `  curl -H "Authorization: Bearer ${info.apiToken}" ${workerUrl}/v1/locks/demo`,
    "",
  ].join("\n");
}
