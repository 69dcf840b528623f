/**
 * Starting and stopping private redis-server processes: free ports, data directories,
 * persistence, the password and disabled admin commands, and the message when no binary is
 * installed.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { findRedisServerBinary, startRedisServer } from "../../local/redis-server";
import { findPortHolder } from "../../local/port-holder";
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
    expect(a.url).toBe(`redis://:${a.password}@127.0.0.1:${a.port}`);
    await withClient(a.url, async (client) => {
      expect(await client.ping()).toBe("PONG");
      expect(await client.info("persistence")).toMatch(/^aof_enabled:0\r?$/m);
    });
    await Promise.all([a.stop(), b.stop()]);
    expect(await accepts(a.port)).toBe(false);
    expect(existsSync(a.dir)).toBe(false);
    expect(existsSync(b.dir)).toBe(false);
  });

  it("writes nothing to disk without persist: no snapshot on shutdown, no AOF", async () => {
    const server = await startRedisServer({ keepDir: true });
    try {
      await withClient(server.url, (client) => client.set("written", "1"));
      await server.stop();
      expect(readdirSync(server.dir)).toEqual([]);
    } finally {
      rmSync(server.dir, { recursive: true, force: true });
    }
  });

  it("requires its password, refuses admin commands, and keeps the password off its command line", async () => {
    const server = await startRedisServer();
    try {
      const anonymous = new Redis(server.port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, enableReadyCheck: false });
      await anonymous.connect();
      await expect(anonymous.set("k", "v")).rejects.toThrow(/NOAUTH/);
      anonymous.disconnect();

      await withClient(server.url, async (client) => {
        // The attack this stops: CONFIG SET dir + SAVE writes a file anywhere the user can.
        await expect(client.call("CONFIG", "SET", "dir", "/tmp")).rejects.toThrow(/unknown command/i);
        await expect(client.call("DEBUG", "SLEEP", "0")).rejects.toThrow(/unknown command/i);
        await expect(client.call("MODULE", "LIST")).rejects.toThrow(/unknown command/i);
        await expect(client.eval("return redis.call('CONFIG', 'GET', 'dir')", 0)).rejects.toThrow(/Unknown Redis command/i);
        expect(await client.call("SCRIPT", "FLUSH")).toBe("OK"); // what the endpoint needs still works
      });

      const pid = findPortHolder(server.port)?.pid ?? 0;
      expect(pid).toBeGreaterThan(0);
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).not.toContain(server.password);
    } finally {
      await server.stop();
    }
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
