import { randomBytes } from "node:crypto";
import type { TestProject } from "vitest/node";
import { startService } from "./service";

/**
 * One `npm start` for the whole "browser" project (its files run one at a time): the console
 * and the API on a free port, with a fresh API token. Stopped when the run ends.
 */
export default async function setup(project: TestProject) {
  const service = await startService(randomBytes(24).toString("hex"));
  project.provide("consoleBaseUrl", service.baseUrl);
  project.provide("consoleToken", service.token);
  return () => service.stop();
}

declare module "vitest" {
  export interface ProvidedContext {
    consoleBaseUrl: string;
    consoleToken: string;
  }
}
