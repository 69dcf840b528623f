import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startLocalEndpoint } from "../../local/endpoint";
import { startRedisServer } from "../../local/redis-server";
import { repoRoot } from "../node/processes";
import { startOrigin } from "./origin";
import { quietKnownWorkerdNoise } from "./quiet-workerd";
import { copyDocsAssets } from "../../local/docs-assets";

/**
 * Starts, for one run of the "workers" project, a private redis-server (free port, temporary
 * directory), the local Upstash-compatible endpoint in front of it, and a programmable origin;
 * their addresses become the Worker's bindings (see vitest.config.ts). Everything is stopped
 * when the run ends. Nothing here touches any other Redis.
 */
export default async function setup(project: TestProject) {
  const restoreOutput = quietKnownWorkerdNoise();
  copyDocsAssets(repoRoot);
  const redis = await startRedisServer();
  const endpoint = await startLocalEndpoint({ redisUrl: redis.url, poolSize: 16 }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  const origin = await startOrigin();

  project.provide("restUrl", endpoint.url);
  project.provide("restToken", endpoint.token);
  project.provide("apiToken", randomBytes(24).toString("hex"));
  project.provide("originUrl", origin.url);

  return async () => {
    await origin.close();
    await endpoint.close();
    await redis.stop();
    restoreOutput();
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    restUrl: string;
    restToken: string;
    apiToken: string;
    originUrl: string;
  }
}
