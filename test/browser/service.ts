import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { descendantsOf } from "../../local/process-table";

/**
 * The service as a developer runs it: `npm start` in the repository, with only what the
 * launcher documents as its interface: PORT, API_TOKEN, and /health answering 200 once ready.
 * REDIS_DATA_DIR points its private Redis at a temporary directory so the tests never write to
 * a developer's `.wrangler/redis` (a launcher that ignores it only costs that isolation).
 */

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface Service {
  baseUrl: string;
  token: string;
  /** Everything `npm start` printed so far (for error messages). */
  output: () => string;
  stop: () => Promise<void>;
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port"))));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** True while any process of the group `pgid` is alive. */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

async function answers(url: string): Promise<number | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return null;
  }
}

/**
 * Starts `npm start` on a free port with `token` as API_TOKEN and resolves once /health
 * answers 200 (or rejects with the launcher's output if it exits or takes over `timeoutMs`).
 */
export async function startService(token: string, timeoutMs = 150_000): Promise<Service> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "console-e2e-redis-"));
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), API_TOKEN: token, REDIS_DATA_DIR: dataDir };
  // A Redis or Upstash database of the developer's environment is not the tests' to write to.
  for (const name of ["REDIS_URL", "UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"]) delete env[name];

  // Its own process group: stop() signals the group the way Ctrl-C signals a terminal's.
  const child = spawn("npm", ["start"], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
  const pgid = child.pid!;
  const baseUrl = `http://127.0.0.1:${port}`;

  const stop = async () => {
    // Every process under npm start, found through /proc (Linux; elsewhere none). Used only to
    // clean up after a launcher that did not stop: wrangler dev runs in a process group of its own.
    const tree = descendantsOf(pgid);
    if (groupAlive(pgid)) process.kill(-pgid, "SIGINT");
    // The launcher stops wrangler dev (its own group) and Redis, then exits: wait for both the
    // group to empty and the port to close; past the deadline, kill every process that was
    // under npm start when it was asked to stop, and say so.
    const deadline = Date.now() + 30_000;
    while ((groupAlive(pgid) || (await answers(`${baseUrl}/health`)) !== null) && Date.now() < deadline) await sleep(250);
    const leftover = groupAlive(pgid) || (await answers(`${baseUrl}/health`)) !== null;
    if (leftover) {
      for (const pid of tree) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    if (groupAlive(pgid)) process.kill(-pgid, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    if (leftover) throw new Error(`npm start did not stop within 30 s of SIGINT:\n${output.slice(-2000)}`);
  };

  const deadline = Date.now() + timeoutMs;
  while ((await answers(`${baseUrl}/health`)) !== 200) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop().catch(() => {});
      const why = child.exitCode !== null ? `exited with code ${child.exitCode}` : `was not healthy within ${timeoutMs / 1000} s`;
      throw new Error(`npm start ${why}:\n${output.slice(-3000)}`);
    }
    await sleep(500);
  }
  return { baseUrl, token, output: () => output, stop };
}
