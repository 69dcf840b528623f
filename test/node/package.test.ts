/**
 * The published package as a user gets it: `npm pack`, the tarball installed into a scratch
 * project beside `hono` and `@upstash/redis` (its peers), a file importing every entry point
 * type-checked with `moduleResolution: "bundler"` (as Workers templates set it), and every
 * entry point imported in Node.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot as root } from "./processes";

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, unknown>;
  devDependencies: Record<string, string>;
};
const entries = Object.keys(pkg.exports)
  .filter((entry) => entry !== "./package.json")
  .map((entry) => `${pkg.name}${entry.slice(1)}`);

/** Uses each entry's main export with its types, so a missing or wrong declaration fails tsc. */
const CONSUMER = `
import { Hono } from "hono";
import { Cache, json } from "${pkg.name}/cache";
import { WindowedCounters } from "${pkg.name}/counters";
import { Leaderboards } from "${pkg.name}/leaderboard";
import { Locks, withLock as withLockCore } from "${pkg.name}/lock";
import { RateLimiter, tokenBucket, type Policy } from "${pkg.name}/ratelimit";
import { createRedis, RedisUnavailableError } from "${pkg.name}/redis";
import { cache, cacheOf, edgeRedis, type EdgeRedisEnv, lock, problemHandler, rateLimit, withLock } from "${pkg.name}/hono";
import { createClient, type AppType } from "${pkg.name}/client";

const redis = createRedis({ url: "http://127.0.0.1:1", token: "t" });
export const cores = [new Cache(redis), new WindowedCounters(redis), new Leaderboards(redis), new Locks(redis)] as const;
const policy: Policy = { name: "login", algorithm: tokenBucket({ capacity: 3, refill: 1, intervalMs: 60_000 }) };
export const limiter = new RateLimiter(redis, { policies: [policy] });
export const isUnavailable = (error: unknown): boolean => error instanceof RedisUnavailableError;
export const lockedRun = (locks: Locks) => withLockCore(locks, "job", async ({ fence }) => fence);

const app = new Hono<EdgeRedisEnv>();
app.onError(problemHandler);
app.use("*", edgeRedis({ prefix: "app" }));
app.get("/p/:id", cache({ ttl: 60, tags: (c) => ["p:" + c.req.param("id")] }), (c) => c.json({ id: c.req.param("id") }));
app.post("/login", rateLimit({ policies: [policy], key: (c) => c.req.header("X-User") }), (c) => c.text("ok"));
app.post("/pay/:id", lock({ name: (c) => "order:" + c.req.param("id") }), (c) => c.json({ fence: c.var.lease.fence }));
app.post("/report", async (c) => c.json(await withLock(c, "report", ({ fence }) => ({ fence }))));
app.post("/purge", async (c) => c.json(await cacheOf(c).invalidate({ tags: ["p:1"] })));
app.get("/top", async (c) => c.json(await c.var.leaderboards.top("arena", { limit: 10 })));
export default app;

const api = createClient("https://edge.example", { token: "secret" });
export async function acquire(): Promise<number | undefined> {
  const res = await api.v1.locks[":name"].$post({ param: { name: "orders:42" }, json: { ttlMs: 5000 } });
  return res.status === 201 ? (await res.json()).fence : undefined;
}
export type Api = AppType;
export const value = json({ a: 1 });
`;

const TSCONFIG = {
  compilerOptions: {
    target: "ES2022",
    module: "ESNext",
    moduleResolution: "bundler",
    lib: ["ES2023", "DOM", "DOM.Iterable"],
    types: [],
    strict: true,
    noEmit: true,
    // The package's own declarations are checked too (about 20 s more than skipping them).
    skipLibCheck: false,
  },
  include: ["consumer.ts"],
};

describe("the npm package", () => {
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "erf-package-"));
    const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", scratch], { cwd: root, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
    const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as Array<{ filename: string }>;
    writeFileSync(
      join(scratch, "package.json"),
      JSON.stringify({
        name: "scratch-consumer",
        private: true,
        type: "module",
        dependencies: {
          [pkg.name]: `file:./${packed!.filename}`,
          hono: pkg.devDependencies.hono,
          "@upstash/redis": pkg.devDependencies["@upstash/redis"],
        },
      }),
    );
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: scratch, timeout: 150_000 });
  }, 180_000);

  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("holds only the build, the README and the library guide", () => {
    const manifest = JSON.parse(readFileSync(join(scratch, "node_modules", pkg.name, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.private).toBeUndefined();
    expect(manifest.peerDependencies).toMatchObject({ hono: expect.any(String), "@upstash/redis": expect.any(String) });
    expect(() => readFileSync(join(scratch, "node_modules", pkg.name, "shared", "cache", "index.ts"))).toThrow(
      expect.objectContaining({ code: "ENOENT" }),
    );
    expect(readFileSync(join(scratch, "node_modules", pkg.name, "docs", "library.md"), "utf8")).toContain("# ");
  });

  it("type-checks a consumer of every entry point", async () => {
    writeFileSync(join(scratch, "consumer.ts"), CONSUMER);
    writeFileSync(join(scratch, "tsconfig.json"), JSON.stringify(TSCONFIG));
    const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
    const result = await run(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: scratch, timeout: 120_000 }).catch((error: { stdout: string }) => error);
    expect(result.stdout).toBe("");
  }, 180_000);

  it("imports every entry point in Node", async () => {
    const script = entries.map((name) => `console.log(${JSON.stringify(name)}, Object.keys(await import(${JSON.stringify(name)})).length);`).join("\n");
    writeFileSync(join(scratch, "imports.mjs"), script);
    const { stdout } = await run(process.execPath, ["imports.mjs"], { cwd: scratch, timeout: 60_000 });
    const counts = Object.fromEntries(stdout.trim().split("\n").map((line) => line.split(" ")).map(([name, n]) => [name, Number(n)]));
    expect(Object.keys(counts).sort()).toEqual([...entries].sort());
    // The client entry exports only createClient at runtime (its types are the rest).
    for (const name of entries) expect(counts[name], name).toBeGreaterThan(0);
  }, 60_000);
});
