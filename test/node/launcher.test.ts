/**
 * `npm start` (local/dev.ts) as a user runs it: Redis, the REST endpoint and wrangler dev come
 * up, the Worker answers, settings from the environment reach the Worker, and everything stops
 * together, on SIGTERM or when one part dies.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startLocalEndpoint } from "../../local/endpoint";
import { freePort } from "../../local/ports";
import { startRedisServer } from "../../local/redis-server";
import { accepts, killStarted, runScript, waitFor } from "./processes";

const dataDir = mkdtempSync(join(tmpdir(), "launcher-test-"));
afterEach(killStarted);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** The launcher with a clean environment: no inherited Upstash or Redis settings. */
function startLauncher(env: Record<string, string | undefined>) {
  return runScript("local/dev.ts", {
    REDIS_URL: undefined,
    UPSTASH_REDIS_REST_URL: undefined,
    UPSTASH_REDIS_REST_TOKEN: undefined,
    API_TOKEN: undefined,
    REDIS_DATA_DIR: dataDir,
    ...env,
  });
}

const portOf = (text: string, label: string) => Number(new RegExp(`${label}\\s+\\S+?:(\\d+)`).exec(text)?.[1]);

describe("npm start", () => {
  it("serves /health with Redis ok, guards /v1, passes env settings on, and stops everything on SIGTERM", async () => {
    const port = await freePort();
    const launcher = startLauncher({ PORT: String(port), MAX_BODY_BYTES: "2048" });
    await waitFor(() => launcher.stdout().includes("API token:"), "the banner", 45_000);

    const token = /API token: (\S+)/.exec(launcher.stdout())?.[1] ?? "";
    expect(token).toMatch(/^[0-9a-f]{48}$/); // generated, since API_TOKEN was unset
    const base = `http://127.0.0.1:${port}`;

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", redis: { ok: true } });
    expect((await fetch(`${base}/v1/anything`)).status).toBe(401);

    // MAX_BODY_BYTES from the launcher's environment reached the Worker.
    const big = await fetch(`${base}/v1/anything`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      body: "x".repeat(4096),
    });
    expect(big.status).toBe(413);

    const endpointPort = portOf(launcher.stdout(), "Redis REST endpoint:");
    const redisPort = portOf(launcher.stdout(), "Redis:");
    expect(await accepts(endpointPort)).toBe(true);
    expect(await accepts(redisPort)).toBe(true);

    launcher.child.kill("SIGTERM");
    expect(await launcher.exited).toBe(0);
    for (const p of [port, endpointPort, redisPort]) expect(await accepts(p)).toBe(false);
  });

  it("stops the rest and exits non-zero with the reason when its redis-server dies", async () => {
    const port = await freePort();
    const launcher = startLauncher({ PORT: String(port), API_TOKEN: "launcher-test-token" });
    await waitFor(() => launcher.stdout().includes("API token:"), "the banner", 45_000);
    expect(launcher.stdout()).toContain("API token: launcher-test-token");
    const redisPort = portOf(launcher.stdout(), "Redis:");

    execFileSync("pkill", ["-KILL", "-f", `redis-server 127.0.0.1:${redisPort}`]);
    expect(await launcher.exited).toBe(1);
    expect(launcher.stderr()).toContain("redis-server exited");
    await waitFor(async () => !(await accepts(port)), "wrangler dev to stop", 10_000);
  });

  it("talks to the database in UPSTASH_REDIS_REST_URL instead of starting its own", async () => {
    const redis = await startRedisServer();
    const database = await startLocalEndpoint({ redisUrl: redis.url });
    try {
      const port = await freePort();
      const launcher = startLauncher({
        PORT: String(port),
        UPSTASH_REDIS_REST_URL: database.url,
        UPSTASH_REDIS_REST_TOKEN: database.token,
      });
      await waitFor(() => launcher.stdout().includes("API token:"), "the banner", 45_000);
      expect(launcher.stdout()).toContain(`Using the Upstash database at ${database.url}`);
      expect(launcher.stdout()).not.toContain("Redis REST endpoint:");
      database.resetStats();
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      expect(database.stats().byCommand.PING).toBe(1);
      launcher.child.kill("SIGTERM");
      expect(await launcher.exited).toBe(0);
    } finally {
      await database.close();
      await redis.stop();
    }
  });

  it("exits at once with instructions when there is no redis-server binary", async () => {
    const launcher = startLauncher({ PATH: "/nonexistent-dir" });
    expect(await launcher.exited).toBe(1);
    expect(launcher.stderr()).toContain("No redis-server found on PATH");
    expect(launcher.stderr()).toContain("UPSTASH_REDIS_REST_URL");
  });
});
