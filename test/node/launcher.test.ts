/**
 * `npm start` (local/dev.ts) as a user runs it: Redis, the REST endpoint and wrangler dev come
 * up behind the launcher's public port, the Worker answers, settings from the environment
 * reach the Worker, the development token is kept, secrets stay off command lines, foreign
 * hosts and cross-site cron triggers are refused, Cron Triggers fire on their own, and
 * everything stops together, on SIGTERM or when one part dies.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startLocalEndpoint } from "../../local/endpoint";
import { freePort } from "../../local/ports";
import { startRedisServer } from "../../local/redis-server";
import { accepts, commandLineOf, descendants, httpGet, killStarted, runScript, waitFor } from "./processes";

const dataDir = mkdtempSync(join(tmpdir(), "launcher-test-"));
afterEach(killStarted);
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/**
 * The launcher with a clean environment: no inherited Upstash, Redis or token settings, its
 * Redis data and kept token in a temporary directory, and no cron firings unless a test asks.
 */
function startLauncher(env: Record<string, string | undefined>) {
  return runScript("local/dev.ts", {
    REDIS_URL: undefined,
    UPSTASH_REDIS_REST_URL: undefined,
    UPSTASH_REDIS_REST_TOKEN: undefined,
    API_TOKEN: undefined,
    ORIGIN_URL: undefined,
    DEMO_ORIGIN: undefined,
    LOCAL_CRON_SPEEDUP: undefined,
    LOCAL_CRONS: "off",
    REDIS_DATA_DIR: dataDir,
    API_TOKEN_FILE: join(dataDir, "api-token"),
    ...env,
  });
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

const portOf = (text: string, label: string) => Number(new RegExp(`${label}\\s+\\S+?:(\\d+)`).exec(text)?.[1]);

// Generous bounds: starting wrangler takes seconds on an idle machine, far longer on a busy one.
const BANNER_WAIT_MS = 120_000;

describe("npm start", { timeout: 240_000 }, () => {
  it("serves /health with Redis ok, guards /v1, passes env settings on, and stops everything on SIGTERM", async () => {
    const port = await freePort();
    const launcher = startLauncher({ PORT: String(port), MAX_BODY_BYTES: "2048" });
    await waitFor(() => launcher.stdout().includes("API token:"), "the banner", BANNER_WAIT_MS);

    const token = /API token: (\S+)/.exec(launcher.stdout())?.[1] ?? "";
    expect(token).toMatch(/^[0-9a-f]{48}$/); // generated, since API_TOKEN was unset
    // ...and kept for the next start, readable by this user only; the banner says how to rotate it.
    const tokenFile = join(dataDir, "api-token");
    expect(readFileSync(tokenFile, "utf8").trim()).toBe(token);
    expect(modeOf(tokenFile)).toBe(0o600);
    expect(launcher.stdout()).toContain(`kept in ${tokenFile} (mode 0600); delete that file to rotate it`);
    const base = `http://127.0.0.1:${port}`;

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get("x-instance-id")).toMatch(/^[0-9a-f]{32}$/); // this run's Worker
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
    await waitFor(() => launcher.stdout().includes("API token:"), "the banner", BANNER_WAIT_MS);
    expect(launcher.stdout()).toContain("API token: launcher-test-token");
    const redisPort = portOf(launcher.stdout(), "Redis:");

    execFileSync("pkill", ["-KILL", "-f", `redis-server 127.0.0.1:${redisPort}`]);
    expect(await launcher.exited).toBe(1);
    expect(launcher.stderr()).toContain("redis-server exited");
    await waitFor(async () => !(await accepts(port)), "wrangler dev to stop", 10_000);
  });

  it("talks to the database in UPSTASH_REDIS_REST_URL instead of starting its own, with API_TOKEN from the environment as given", async () => {
    const redis = await startRedisServer();
    const database = await startLocalEndpoint({ redisUrl: redis.url });
    // Quotes and $ must reach the Worker literally through wrangler's env-file parsing.
    const apiToken = `it's-$HOME-"quoted"-\${PATH}-${"x".repeat(16)}`;
    try {
      const port = await freePort();
      const launcher = startLauncher({
        PORT: String(port),
        UPSTASH_REDIS_REST_URL: database.url,
        UPSTASH_REDIS_REST_TOKEN: database.token,
        API_TOKEN: apiToken,
        API_TOKEN_FILE: join(dataDir, "unused-token"),
      });
      await waitFor(() => launcher.stdout().includes("API token:"), "the banner", BANNER_WAIT_MS);
      expect(launcher.stdout()).toContain(`Using the Upstash database at ${database.url}`);
      expect(launcher.stdout()).not.toContain("Redis REST endpoint:");
      expect(launcher.stdout()).toContain(`API token: ${apiToken}`);
      expect(existsSync(join(dataDir, "unused-token"))).toBe(false); // a configured token is not kept

      database.resetStats();
      const lock = await fetch(`http://127.0.0.1:${port}/v1/locks/launcher-env-token`, { headers: { Authorization: `Bearer ${apiToken}` } });
      expect(lock.status).toBe(200);
      expect(database.stats().requests).toBeGreaterThanOrEqual(1); // served by that database
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      launcher.child.kill("SIGTERM");
      expect(await launcher.exited).toBe(0);
    } finally {
      await database.close();
      await redis.stop();
    }
  });

  it("exits at once with instructions when there is no redis-server binary", async () => {
    const launcher = startLauncher({ PATH: "/nonexistent-dir", PORT: String(await freePort()) });
    expect(await launcher.exited).toBe(1);
    expect(launcher.stderr()).toContain("No redis-server found on PATH");
    expect(launcher.stderr()).toContain("UPSTASH_REDIS_REST_URL");
  });

  it("fails at once on a busy port, naming the port, PORT and the process holding it, before starting anything", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      const launcher = startLauncher({ PORT: String(port) });
      expect(await launcher.exited).toBe(1);
      expect(launcher.stderr()).toContain(`Port ${port} on 127.0.0.1 is already in use by`);
      expect(launcher.stderr()).toContain(`(pid ${process.pid})`); // this test process holds it
      expect(launcher.stderr()).toContain(`PORT=${port + 1} npm start`);
      expect(launcher.stdout()).not.toContain("Redis"); // nothing was started
    } finally {
      holder.close();
    }
  });

  it("keeps secrets off command lines, refuses foreign hosts and cross-site cron triggers, and prints one quiet banner", async () => {
    const port = await freePort();
    const launcher = startLauncher({ PORT: String(port) });
    await waitFor(() => launcher.stdout().includes("API token:"), "the banner", BANNER_WAIT_MS);
    const token = /API token: (\S+)/.exec(launcher.stdout())?.[1] ?? "";

    // Secrets travel in a private env file, never in argv (which `ps` shows to every user).
    const commandLines = descendants(launcher.child.pid!).map(commandLineOf).filter(Boolean);
    const wrangler = commandLines.find((line) => line.includes("wrangler-dist/cli.js dev")) ?? "";
    const envFile = /--env-file (\S+)/.exec(wrangler)?.[1] ?? "";
    expect(modeOf(envFile)).toBe(0o600);
    const secrets = [...readFileSync(envFile, "utf8").matchAll(/^(API_TOKEN|UPSTASH_REDIS_REST_TOKEN)='([^']+)'$/gm)].map((m) => m[2]!);
    expect(secrets).toHaveLength(2);
    expect(secrets).toContain(token);
    for (const line of commandLines) for (const secret of secrets) expect(line).not.toContain(secret);

    // DNS rebinding: a page on another domain that resolves to 127.0.0.1 gets nothing.
    for (const path of ["/health", "/v1/locks/demo", "/__scheduled?cron=*+*+*+*+*"]) {
      const foreign = await httpGet(port, path, { host: `rebind.example:${port}`, authorization: `Bearer ${token}` });
      expect(foreign.status).toBe(403);
      expect(foreign.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(foreign.text)).toMatchObject({ type: "urn:problem:host-not-allowed", status: 403 });
    }
    // An <img> on any page could fire a cron: browsers mark it cross-site, and it is refused.
    for (const path of ["/__scheduled?cron=*+*+*+*+*", "/cdn-cgi/handler/scheduled?cron=*+*+*+*+*"]) {
      const img = await httpGet(port, path, { "sec-fetch-site": "cross-site", "sec-fetch-dest": "image" });
      expect(img.status).toBe(403);
      expect(JSON.parse(img.text)).toMatchObject({ type: "urn:problem:cross-site-trigger", status: 403 });
      expect((await httpGet(port, path, { origin: "https://attacker.example" })).status).toBe(403);
    }
    // Firing by hand, as the README shows, still works.
    const byHand = await httpGet(port, "/__scheduled?cron=*+*+*+*+*");
    expect(byHand.status).toBe(200);
    expect(byHand.text).toBe("Ran scheduled event");
    expect((await httpGet(port, "/health", { host: `localhost:${port}` })).status).toBe(200);

    launcher.child.kill("SIGTERM");
    expect(await launcher.exited).toBe(0);
    expect(existsSync(envFile)).toBe(false); // removed on exit

    const output = launcher.stdout() + launcher.stderr();
    expect(output.match(/API token:/g)).toHaveLength(1);
    expect(output).not.toContain("Request.cf");
    expect(output).not.toMatch(/update available/i);
    expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m); // no stack trace
    expect(output).not.toMatch(/restarting build|\[custom build\]/); // wrangler's build chatter
    expect(output).not.toMatch(/Ready on http:\/\/127\.0\.0\.1:\d+/); // wrangler's internal port: only the banner's URL is shown
    expect(output).toContain("Your Worker has access to the following bindings"); // its other lines still pass through
  });

  it("reuses a kept token, serves the demo origin through the proxy, and fires crons on schedule to apply a scheduled invalidation", async () => {
    const port = await freePort();
    const tokenFile = join(dataDir, "kept-token");
    const kept = "a-token-kept-by-an-earlier-start-0123456789";
    writeFileSync(tokenFile, `${kept}\n`, { mode: 0o644 });
    // LOCAL_CRON_SPEEDUP: the documented shortened clock; one cron minute is two real seconds.
    const launcher = startLauncher({ PORT: String(port), API_TOKEN_FILE: tokenFile, DEMO_ORIGIN: "1", LOCAL_CRONS: undefined, LOCAL_CRON_SPEEDUP: "30" });
    await waitFor(() => launcher.stdout().includes("API token:"), "the banner", BANNER_WAIT_MS);
    expect(launcher.stdout()).toContain(`API token: ${kept}`);
    expect(modeOf(tokenFile)).toBe(0o600);
    expect(launcher.stdout()).toMatch(/Origin: +http:\/\/127\.0\.0\.1:\d+ \(demo origin\)/);

    const base = `http://127.0.0.1:${port}`;
    const headers = { Authorization: `Bearer ${kept}`, "Content-Type": "application/json" };
    const product = async () => {
      const res = await fetch(`${base}/v1/proxy/products/42`, { headers });
      return { status: res.status, cache: res.headers.get("x-cache"), body: (await res.json()) as { id?: string } };
    };
    expect(await product()).toMatchObject({ status: 200, cache: "MISS", body: { id: "42" } });
    expect(await product()).toMatchObject({ status: 200, cache: "HIT" });

    const tag = `launcher-cron-${Date.now()}`;
    const key = `${tag}:entry`;
    const put = await fetch(`${base}/v1/cache/${key}`, { method: "PUT", headers, body: JSON.stringify({ value: "v", ttl: 3600, tags: [tag] }) });
    expect(put.status).toBe(201);

    // A few seconds ahead (202: scheduled, not applied now), and no manual trigger: the
    // per-minute cron, firing every two seconds on the sped-up clock, must apply it once its
    // time has come (the Worker sees the real time).
    const at = new Date(Date.now() + 4_000).toISOString();
    const scheduled = await fetch(`${base}/v1/cache/invalidate`, { method: "POST", headers, body: JSON.stringify({ tags: [tag, "product:42"], at }) });
    expect(scheduled.status).toBe(202);
    const { id } = (await scheduled.json()) as { id: string };
    const pending = async () => {
      const res = await fetch(`${base}/v1/cache/invalidations?limit=100`, { headers });
      return ((await res.json()) as { invalidations: Array<{ id: string }> }).invalidations.map((i) => i.id);
    };

    await waitFor(async () => !(await pending()).includes(id), "the cron to apply the scheduled invalidation", 30_000);
    expect((await fetch(`${base}/v1/cache/${key}`, { headers })).status).toBe(404);
    expect((await product()).cache).toBe("MISS"); // the proxied entry carried the tag "product:42"
    expect(launcher.stdout()).toMatch(/^\[cron\] "\* \* \* \* \*" for \S+Z: ok \(\d+ ms\)$/m);
    // The Worker's cron job says it applied it (wrangler's output reaches the launcher's).
    expect(launcher.stdout()).toMatch(/cache cron \* \* \* \* \*: applied [1-9]\d* scheduled invalidation/);

    launcher.child.kill("SIGTERM");
    expect(await launcher.exited).toBe(0);
  });
});
