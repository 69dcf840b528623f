import type { TestProject } from "vitest/node";
import { startEndpointProcess } from "../../local/endpoint-process";

/**
 * The example's Redis, as a user of the example would get one: `npm run local-endpoint` (a
 * private redis-server behind the local Upstash-compatible endpoint), run as its own process,
 * whose first two lines on stdout are the settings. A process of its own also keeps the
 * endpoint's modules out of this runner, which the "workers" project's setup has loaded.
 */
export default async function setup(project: TestProject) {
  const endpoint = await startEndpointProcess();
  project.provide("restUrl", endpoint.url);
  project.provide("restToken", endpoint.token);
  return () => endpoint.close();
}
