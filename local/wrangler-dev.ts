import { spawn, type ChildProcess } from "node:child_process";

/**
 * Starts `wrangler dev` (Miniflare/workerd) for this project on 127.0.0.1:`port`, with `vars`
 * passed as `--var NAME:value` (they override wrangler.toml and .dev.vars). Used by both
 * `npm start` and `npm run bench`.
 */
export function startWranglerDev(opts: {
  root: string;
  port: number;
  vars: Record<string, string>;
  testScheduled?: boolean;
  quiet?: boolean;
  /** A wrangler config other than the root's `wrangler.toml` (the bench Worker's). */
  config?: string;
}): ChildProcess {
  const args = ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(opts.port), "--show-interactive-dev-session=false"];
  if (opts.config) args.push("--config", opts.config);
  if (opts.testScheduled) args.push("--test-scheduled");
  if (opts.quiet) args.push("--log-level", "warn");
  for (const [name, value] of Object.entries(opts.vars)) args.push("--var", `${name}:${value}`);
  return spawn("npx", args, {
    cwd: opts.root,
    stdio: ["ignore", opts.quiet ? "ignore" : "inherit", "inherit"],
    // Own process group, so stopping it also stops workerd under it.
    detached: true,
  });
}

/** Stops a child started by {@link startWranglerDev} and everything it started. */
export async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.pid === undefined) return;
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
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive()) throw new Error(`the process serving ${url} exited`);
    try {
      await (await fetch(url)).text();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}
