import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeWranglerEnvFile } from "./wrangler-env-file";

const wranglerBin = join(dirname(createRequire(import.meta.url).resolve("wrangler/package.json")), "bin", "wrangler.js");
const groupGuard = fileURLToPath(new URL("./group-guard.mjs", import.meta.url));

/** A running `wrangler dev`. */
export interface WranglerDev {
  child: ChildProcess;
  /** Stops wrangler and workerd under it, and removes the variables file. */
  stop(): Promise<void>;
}

/**
 * Environment that keeps `wrangler dev` quiet and offline about things that do not matter
 * locally; each can still be set by the user.
 * - `WRANGLER_HIDE_BANNER`: no version banner, and so no "update available" check.
 * - `WRANGLER_SEND_METRICS`: no telemetry, and no first-run telemetry notice.
 * - `CLOUDFLARE_CF_FETCH_ENABLED`: Miniflare uses its placeholder `Request.cf` instead of
 *   downloading one; offline, the download fails with a warning and a stack trace, twice.
 */
export const QUIET_WRANGLER_ENV: Readonly<Record<string, string>> = {
  WRANGLER_HIDE_BANNER: "true",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
};

/**
 * Lines of wrangler's own that say nothing to a user of `npm start`, or mislead one: the
 * docs-assets build it runs (twice: wrangler 4.86 always rebuilds once its file watcher is
 * ready, and names a `src` folder this project does not have), where the variables file it was
 * given lives, and its "Ready on" line, which names its internal port behind the launcher's.
 */
const WRANGLER_NOISE: readonly RegExp[] = [
  /^\[custom build\] /,
  /^The file .* changed, restarting build\.\.\.$/,
  /^Using secrets defined in /,
  /Ready on http:\/\/127\.0\.0\.1:\d+/,
];

/** Copies `from` to `to` line by line, leaving out the lines that match `noise`. */
function pipeWithout(from: Readable, to: Writable, noise: readonly RegExp[]): void {
  const lines = createInterface({ input: from, crlfDelay: Infinity });
  lines.on("line", (line) => {
    const plain = line.replace(/\x1b\[[0-9;]*m/g, "");
    if (!noise.some((pattern) => pattern.test(plain))) to.write(`${line}\n`);
  });
}

/**
 * Starts `wrangler dev` (Miniflare/workerd) for this project on 127.0.0.1:`port`. `vars` reach
 * the Worker through a private `--env-file` (they override wrangler.toml `[vars]`; wrangler
 * then skips `.dev.vars`, so callers include its entries), never on the command line, where
 * `ps` would show tokens. Used by both `npm start` and `npm run bench`.
 */
export function startWranglerDev(opts: {
  root: string;
  port: number;
  vars: Record<string, string>;
  testScheduled?: boolean;
  quiet?: boolean;
  /** A wrangler config other than the root's `wrangler.toml` (the bench Worker's). */
  config?: string;
}): WranglerDev {
  const envFile = writeWranglerEnvFile(join(opts.root, ".wrangler"), opts.vars);
  const args = [wranglerBin, "dev", "--ip", "127.0.0.1", "--port", String(opts.port), "--show-interactive-dev-session=false"];
  if (opts.config) args.push("--config", opts.config);
  args.push("--env-file", envFile.path);
  if (opts.testScheduled) args.push("--test-scheduled");
  if (opts.quiet) args.push("--log-level", "warn");
  // wrangler runs under group-guard.mjs, in a process group of its own (so stopping the group
  // also stops workerd under it) that ends when this process ends, however it ends: the guard
  // watches the pipe on its stdin, which the kernel closes when this process dies. The guard
  // also removes the variables file then.
  const child = spawn(process.execPath, [groupGuard, "--remove", envFile.dir, process.execPath, ...args], {
    cwd: opts.root,
    env: { ...QUIET_WRANGLER_ENV, ...process.env },
    stdio: ["pipe", opts.quiet ? "ignore" : "pipe", "inherit"],
    detached: true,
  });
  if (child.stdout) pipeWithout(child.stdout, process.stdout, WRANGLER_NOISE);
  child.once("exit", () => envFile.remove());
  return {
    child,
    stop: async () => {
      await stopProcessGroup(child);
      envFile.remove();
    },
  };
}

/** Stops a child started in its own process group, and everything it started. */
export async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return; // already gone
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // already gone
    }
  }, 3000);
  await exited;
  clearTimeout(timer);
}

/** Polls `url` until it answers with any HTTP status, or throws after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 60_000, isAlive: () => boolean = () => true): Promise<void> {
  await waitForResponse(url, () => true, timeoutMs, isAlive);
}

/**
 * Polls `url` until a response passes `accept` (e.g. carries this run's instance id), or
 * throws after `timeoutMs`, or as soon as `isAlive` says the server process is gone.
 */
export async function waitForResponse(
  url: string,
  accept: (res: Response) => boolean,
  timeoutMs = 60_000,
  isAlive: () => boolean = () => true,
): Promise<Response> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the process serving ${url} exited`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (accept(res)) return res;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}
