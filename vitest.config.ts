import { readFileSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

/**
 * The package's entries (`edge-redis-functions/cache`, ...) resolved to their source, as the
 * exports map names them in dist/: the example's tests need no build, and never race the
 * package test's own `npm pack` build of dist/.
 */
function packageSources(): Array<{ find: RegExp; replacement: string }> {
  const pkg = JSON.parse(readFileSync(new URL("./package.json", import.meta.url), "utf8")) as {
    name: string;
    exports: Record<string, string | { default: string }>;
  };
  return Object.entries(pkg.exports).flatMap(([entry, target]) => {
    if (typeof target === "string") return [];
    const source = target.default.replace(/^\.\/dist\//, "./").replace(/\.js$/, ".ts");
    return [{ find: new RegExp(`^${pkg.name}${entry.slice(1)}$`), replacement: new URL(source, import.meta.url).pathname }];
  });
}

/**
 * Five projects:
 * - "workers": tests that run inside workerd (the real Workers runtime) through the Workers
 *   Vitest integration. `test/setup/global.ts` starts a private redis-server and the local
 *   Upstash-compatible endpoint, and their URL and token become the Worker's bindings.
 * - "example": the example app (examples/hono-app), a Worker that uses this package by its name,
 *   in workerd with its own wrangler.toml, against its own private redis-server and endpoint,
 *   started as `npm run local-endpoint` starts them (`test/setup/example.ts`).
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
        plugins: [
          cloudflareTest(({ inject }) => ({
            main: "./examples/hono-app/src/index.ts",
            wrangler: { configPath: "./examples/hono-app/wrangler.toml" },
            miniflare: {
              bindings: {
                UPSTASH_REDIS_REST_URL: inject("restUrl"),
                UPSTASH_REDIS_REST_TOKEN: inject("restToken"),
              },
            },
          })),
        ],
        resolve: { alias: packageSources() },
        test: {
          name: "example",
          include: ["examples/hono-app/test/**/*.test.ts"],
          globalSetup: ["./test/setup/example.ts"],
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
