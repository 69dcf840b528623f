/**
 * Starting and stopping private redis-server processes: free ports, data directories,
 * persistence, and the message when no binary is installed.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { findRedisServerBinary, startRedisServer } from "../../local/redis-server";
import { accepts } from "./processes";

async function withClient<T>(url: string, work: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    client.disconnect();
  }
}

describe("startRedisServer", () => {
  const originalPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = originalPath;
  });

  it("starts servers on distinct free ports with their own temp dirs, removed on stop", async () => {
    const [a, b] = await Promise.all([startRedisServer(), startRedisServer()]);
    expect(a.port).not.toBe(b.port);
    expect(a.dir).not.toBe(b.dir);
    expect(a.url).toBe(`redis://127.0.0.1:${a.port}`);
    await withClient(a.url, async (client) => {
      expect(await client.ping()).toBe("PONG");
      // Persistence is off: no snapshot rules, no AOF.
      expect(await client.config("GET", "save")).toEqual(["save", ""]);
      expect(await client.config("GET", "appendonly")).toEqual(["appendonly", "no"]);
    });
    await Promise.all([a.stop(), b.stop()]);
    expect(await accepts(a.port)).toBe(false);
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(b.dir)).toBe(false);
  });

  it("keeps data across restarts with persist in a given dir", async () => {
    const dir = mkdtempSync(join(tmpdir(), "redis-persist-test-"));
    try {
      const first = await startRedisServer({ dir, persist: true });
      await withClient(first.url, (client) => client.set("survivor", "yes"));
      await first.stop();
      expect(existsSync(dir)).toBe(true);

      const second = await startRedisServer({ dir, persist: true });
      expect(await withClient(second.url, (client) => client.get("survivor"))).toBe("yes");
      await second.stop();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps its temp dir when asked", async () => {
    const server = await startRedisServer({ keepDir: true });
    await server.stop();
    expect(existsSync(server.dir)).toBe(true);
    rmSync(server.dir, { recursive: true, force: true });
  });

  it("explains how to get Redis when no binary is on PATH", async () => {
    expect(findRedisServerBinary()).toMatch(/redis-server$/);
    process.env.PATH = "/nonexistent-dir";
    expect(findRedisServerBinary()).toBeNull();
    await expect(startRedisServer()).rejects.toThrow(/apt-get install redis-server.*REDIS_URL/s);
  });
});
