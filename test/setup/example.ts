import type { TestProject } from "vitest/node";
import { runScript, waitFor } from "../node/processes";

/**
 * The example's Redis, as a user of the example would get one: `npm run local-endpoint` (a
 * private redis-server behind the local Upstash-compatible endpoint), run as its own process,
 * whose first two lines on stdout are the settings. A process of its own also keeps the
 * endpoint's modules out of this runner, which the "workers" project's setup has loaded.
 */
export default async function setup(project: TestProject) {
  const endpoint = runScript("local/main.ts", { REDIS_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined });
  const settings = () => Object.fromEntries(endpoint.stdout().split("\n").filter(Boolean).map((line) => line.split("=", 2)));
  try {
    await waitFor(() => "UPSTASH_REDIS_REST_TOKEN" in settings() || endpoint.child.exitCode !== null, "the local endpoint", 30_000);
  } catch (error) {
    endpoint.child.kill("SIGTERM");
    throw error;
  }
  const { UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: token } = settings();
  if (!url || !token) throw new Error(`the local endpoint did not start: ${endpoint.stderr()}`);
  project.provide("restUrl", url);
  project.provide("restToken", token);

  return async () => {
    endpoint.child.kill("SIGTERM"); // it stops its private redis-server on SIGTERM
    await endpoint.exited;
  };
}
