import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { request, type IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";

/** Helpers for tests that run the project's own entry points as processes. */

export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

const started: Running[] = [];

/**
 * Runs `script` (a repo-relative .ts file) with tsx as node's loader, in one process: the
 * `tsx` command would add a parent that relays signals and, on a loaded machine, SIGKILLs a
 * child slow to acknowledge one, so a test's SIGTERM would not reach the script's own handler.
 * `env` entries override the current environment; an `undefined` value removes the variable.
 */
export function runScript(script: string, env: Record<string, string | undefined>): Running {
  const fullEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const key of Object.keys(fullEnv)) if (fullEnv[key] === undefined) delete fullEnv[key];
  const child = spawn(process.execPath, ["--import", "tsx", script], { cwd: repoRoot, env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString("utf8")));
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString("utf8")));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const running = { child, stdout: () => out, stderr: () => err, exited };
  started.push(running);
  return running;
}

/**
 * Stops every process a test started and did not stop; for afterEach. SIGTERM first, so a
 * launcher stops what it started (SIGKILL would orphan its detached wrangler), then SIGKILL
 * after 10 s.
 */
export async function killStarted(): Promise<void> {
  for (const running of started.splice(0)) {
    if (running.child.exitCode === null && running.child.signalCode === null) {
      running.child.kill("SIGTERM");
      const timer = setTimeout(() => running.child.kill("SIGKILL"), 10_000);
      await running.exited;
      clearTimeout(timer);
    }
  }
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** The processes started under `pid` (children, grandchildren, …), from /proc. */
export { descendantsOf as descendants } from "../../local/process-table";

/** The command line of `pid` as one string (arguments joined by spaces), or "" once it has exited. */
export function commandLineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** One HTTP GET with exactly these headers (fetch does not let a caller set Host). */
export function httpGet(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, headers: { host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end();
  });
}
