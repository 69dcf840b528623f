/**
 * Small pieces of `npm start`: the kept development token, the private variables file handed
 * to wrangler, the guard that keeps wrangler from outliving the launcher, and the demo origin.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDemoOrigin } from "../../local/demo-origin";
import { loadOrCreateDevToken } from "../../local/dev-token";
import { formatEnvFile, writeWranglerEnvFile } from "../../local/wrangler-env-file";
import { descendants, repoRoot, waitFor } from "./processes";

const dir = mkdtempSync(join(tmpdir(), "dev-support-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modeOf = (path: string) => statSync(path).mode & 0o777;

describe("loadOrCreateDevToken", () => {
  it("generates a 48-character token in a 0600 file, reuses it, and makes a new one once the file is deleted", () => {
    const path = join(dir, "nested", "api-token");
    const first = loadOrCreateDevToken(path);
    expect(first).toMatchObject({ path, created: true });
    expect(first.token).toMatch(/^[0-9a-f]{48}$/);
    expect(modeOf(path)).toBe(0o600);

    expect(loadOrCreateDevToken(path)).toEqual({ token: first.token, path, created: false });

    rmSync(path);
    const rotated = loadOrCreateDevToken(path);
    expect(rotated.created).toBe(true);
    expect(rotated.token).not.toBe(first.token);
  });

  it("makes a readable file private again, and replaces a token shorter than 32 characters", () => {
    const path = join(dir, "open-token");
    const kept = "k".repeat(40);
    writeFileSync(path, `${kept}\n`, { mode: 0o644 });
    expect(loadOrCreateDevToken(path).token).toBe(kept);
    expect(modeOf(path)).toBe(0o600);

    writeFileSync(path, "short\n");
    const replaced = loadOrCreateDevToken(path);
    expect(replaced.created).toBe(true);
    expect(replaced.token).toHaveLength(48);
  });
});

describe("the variables file for wrangler", () => {
  it("quotes every value so dotenv reads it back literally, escaping $ for dotenv-expand", () => {
    expect(formatEnvFile({ A: "plain", B: '{"v1":["api"]}', C: "has 'single' quotes", D: "cost $5 and ${HOME}" })).toBe(
      "A='plain'\nB='{\"v1\":[\"api\"]}'\nC=`has 'single' quotes`\nD='cost \\$5 and \\${HOME}'\n",
    );
    expect(() => formatEnvFile({ BAD: "both ' and `" })).toThrow(/BAD/);
  });

  it("is 0600 in a 0700 directory, and gone after remove()", () => {
    const file = writeWranglerEnvFile(join(dir, "state"), { API_TOKEN: "secret-value" });
    expect(modeOf(file.path)).toBe(0o600);
    expect(modeOf(join(file.path, ".."))).toBe(0o700);
    expect(readFileSync(file.path, "utf8")).toBe("API_TOKEN='secret-value'\n");
    file.remove();
    expect(existsSync(join(file.path, ".."))).toBe(false);
  });
});

describe("group-guard.mjs", () => {
  /** A guard over a process that would run forever, as the launcher starts wrangler. */
  function guarded(removeDir: string) {
    const guard = spawn(process.execPath, [join(repoRoot, "local/group-guard.mjs"), "--remove", removeDir, process.execPath, "-e", "setInterval(() => {}, 1000)"], {
      stdio: ["pipe", "ignore", "inherit"],
      detached: true,
    });
    const exited = new Promise((resolve) => guard.once("exit", resolve));
    return { guard, exited };
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };

  it("stops the whole group and removes the given path when its starter goes away (stdin closes)", async () => {
    const removeDir = join(dir, "guarded-a");
    mkdirSync(removeDir);
    const { guard, exited } = guarded(removeDir);
    await waitFor(() => descendants(guard.pid!).length > 0, "the guarded command to start", 10_000);
    const [command] = descendants(guard.pid!);
    guard.stdin!.end(); // what the kernel does when the launcher dies, even by SIGKILL
    await exited;
    await waitFor(() => !alive(command!), "the guarded command to stop", 10_000);
    expect(existsSync(removeDir)).toBe(false);
  });

  it("stops the whole group on SIGTERM", async () => {
    const removeDir = join(dir, "guarded-b");
    mkdirSync(removeDir);
    const { guard, exited } = guarded(removeDir);
    await waitFor(() => descendants(guard.pid!).length > 0, "the guarded command to start", 10_000);
    const [command] = descendants(guard.pid!);
    guard.kill("SIGTERM");
    await exited;
    await waitFor(() => !alive(command!), "the guarded command to stop", 10_000);
    expect(existsSync(removeDir)).toBe(false);
  });
});

describe("the demo origin", () => {
  it("serves products, lists and a clock with Cache-Control and Cache-Tag, and private answers the proxy must not store", async () => {
    const origin = await startDemoOrigin();
    try {
      const product = await fetch(`${origin.url}/products/42`);
      expect(product.status).toBe(200);
      expect(product.headers.get("cache-control")).toBe("public, max-age=60, stale-while-revalidate=30");
      expect(product.headers.get("cache-tag")).toBe("products,product:42");
      expect(await product.json()).toMatchObject({ id: "42" });

      expect((await fetch(`${origin.url}/products`)).headers.get("cache-tag")).toBe("products");
      expect((await fetch(`${origin.url}/time`)).headers.get("cache-control")).toBe("public, max-age=5");
      expect((await fetch(`${origin.url}/private`)).headers.get("cache-control")).toMatch(/^private/);
      expect((await fetch(`${origin.url}/nothing-here`)).status).toBe(404);
    } finally {
      await origin.close();
    }
  });
});
