import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * Four projects:
 * - "workers": tests that run inside workerd (the real Workers runtime) through the Workers
 *   Vitest integration. `test/setup/global.ts` starts a private redis-server and the local
 *   Upstash-compatible endpoint, and their URL and token become the Worker's bindings.
 * - "node": the local endpoint's own conformance tests, in Node.
 * - "unit": pure tests of the cores' builders, parsers and strategies: no Redis, no workerd.
 * - "browser": the console (public/console/) in Chromium via playwright-core, against the
 *   service started the way `npm start` starts it (`test/browser/global.ts`).
 */
export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./functions/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                UPSTASH_REDIS_REST_URL: inject("restUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("restToken"),
                API_TOKEN: inject("apiToken"),
                TEST_CONTROL_URL: inject("restUrl"),
                TEST_ORIGIN_URL: inject("originUrl"),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/worker/**/*.test.ts"],
          globalSetup: ["./test/setup/global.ts"],
          setupFiles: ["./test/worker/setup.ts"],
          // Round-trip assertions read the endpoint's global counters: one file at a time.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts"],
          environment: "node",
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        test: {
          name: "browser",
          include: ["test/browser/**/*.test.ts"],
          environment: "node",
          globalSetup: ["./test/browser/global.ts"],
          // One service and one CPU-hungry browser at a time, after the other projects have
          // finished, so their timing-sensitive tests do not share the CPU with Chromium.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
          testTimeout: 90_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
