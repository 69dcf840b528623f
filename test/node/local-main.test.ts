/**
 * The `npm run local-endpoint` entry point as a process: what it prints, that it serves, that
 * it honours its environment, and that it cleans up on SIGTERM.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServerHandle } from "../../local/redis-server";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const tsxCli = fileURLToPath(new URL("../../node_modules/tsx/dist/cli.mjs", import.meta.url));

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started: Running[] = [];

function runMain(env: Record<string, string | undefined>): Running {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: undefined, UPSTASH_REDIS_REST_TOKEN: undefined, LOCAL_ENDPOINT_PORT: undefined, ...env };
  for (const key of Object.keys(fullEnv)) if (fullEnv[key] === undefined) delete fullEnv[key];
  const child = spawn(process.execPath, [tsxCli, "local/main.ts"], { cwd: repoRoot, env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running = { child, stdout: () => out, stderr: () => err, exited };
  started.push(running);
  return running;
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

afterEach(async () => {
  for (const running of started.splice(0)) {
    if (running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill("SIGKILL");
      await running.exited;
    }
  }
});

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
});
