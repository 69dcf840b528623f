/**
 * The `npm run local-endpoint` entry point as a process: what it prints, that it serves, that
 * it honours its environment, and that it cleans up on SIGTERM.
 */
import { spawn } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServerHandle } from "../../local/redis-server";
import { accepts, killStarted, repoRoot, runScript, waitFor } from "./processes";

const NO_INHERITED_SETTINGS = { REDIS_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined, LOCAL_ENDPOINT_PORT: undefined };
const runMain = (env: Record<string, string | undefined>) => runScript("local/main.ts", { ...NO_INHERITED_SETTINGS, ...env });

afterEach(killStarted);

describe("local/main.ts", () => {
  it("prints the two settings lines first, serves, and stops its redis-server on SIGTERM", async () => {
    const main = runMain({ UPSTASH_REDIS_REST_TOKEN: "main-test-token" });
    await waitFor(() => main.stdout().split("\n").length >= 3, "the settings lines");
    const [urlLine, tokenLine] = main.stdout().split("\n");
    expect(urlLine).toMatch(/^UPSTASH_REDIS_REST_URL=http:\/\/127\.0\.0\.1:\d+$/);
    expect(tokenLine).toBe("UPSTASH_REDIS_REST_TOKEN=main-test-token");

    const url = (urlLine ?? "").split("=")[1];
    const res = await fetch(`${url}/`, { method: "POST", headers: { authorization: "Bearer main-test-token" }, body: '["PING"]' });
    expect(await res.json()).toEqual({ result: "PONG" });

    const redisPort = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(main.stderr())?.[1]);
    expect(redisPort).toBeGreaterThan(0);
    expect(await accepts(redisPort)).toBe(true);

    main.child.kill("SIGTERM");
    expect(await main.exited).toBe(0);
    expect(await accepts(redisPort)).toBe(false);
    expect(main.stdout().trim().split("\n")).toHaveLength(2);
  });

  describe("with REDIS_URL", () => {
    let redis: RedisServerHandle;
    beforeAll(async () => {
      redis = await startRedisServer();
    });
    afterAll(async () => {
      await redis?.stop();
    });

    it("uses that Redis, the given port and a random token", async () => {
      const probe = await startRedisServer();
      const port = probe.port; // a port known to be free once the probe stops
      await probe.stop();
      const main = runMain({ REDIS_URL: redis.url, LOCAL_ENDPOINT_PORT: String(port) });
      await waitFor(() => main.stdout().split("\n").length >= 3, "the settings lines");
      const [urlLine, tokenLine] = main.stdout().split("\n");
      expect(urlLine).toBe(`UPSTASH_REDIS_REST_URL=http://127.0.0.1:${port}`);
      const token = (tokenLine ?? "").split("=")[1] ?? "";
      expect(token).toMatch(/^[0-9a-f]{64}$/);

      await fetch(`http://127.0.0.1:${port}/`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: '["SET","via-main","1"]' });
      const { default: Redis } = await import("ioredis");
      const direct = new Redis(redis.url, { lazyConnect: true });
      await direct.connect();
      expect(await direct.get("via-main")).toBe("1");
      direct.disconnect();

      main.child.kill("SIGINT");
      expect(await main.exited).toBe(0);
      // Not its server: it must still be running.
      expect(await accepts(redis.port)).toBe(true);
    });
  });

  it("exits 1 with install instructions when there is no redis-server and no REDIS_URL", async () => {
    const main = runMain({ PATH: "/nonexistent-dir" });
    expect(await main.exited).toBe(1);
    expect(main.stdout()).toBe("");
    expect(main.stderr()).toContain("apt-get install redis-server");
  });

  it("as `npm run local-endpoint`, prints the two settings lines first on stdout, before anything of npm's", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, UPSTASH_REDIS_REST_TOKEN: "npm-run-token" };
    for (const name of Object.keys(NO_INHERITED_SETTINGS)) if (name !== "UPSTASH_REDIS_REST_TOKEN") delete env[name];
    for (const name of Object.keys(env)) if (name.startsWith("npm_")) delete env[name]; // as from a shell, not from npm test
    const npm = spawn("npm", ["run", "local-endpoint"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    npm.stdout.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
    const exited = new Promise((resolve) => npm.once("exit", resolve));
    try {
      await waitFor(() => out.split("\n").length >= 3, "the settings lines", 30_000);
      const [urlLine, tokenLine] = out.split("\n");
      expect(urlLine).toMatch(/^UPSTASH_REDIS_REST_URL=http:\/\/127\.0\.0\.1:\d+$/);
      expect(tokenLine).toBe("UPSTASH_REDIS_REST_TOKEN=npm-run-token");
    } finally {
      process.kill(-npm.pid!, "SIGTERM");
      await exited;
    }
  });
});
