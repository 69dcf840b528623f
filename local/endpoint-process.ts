import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { childrenOf } from "./process-table";
import { stopProcessGroup } from "./wrangler-dev";

const root = fileURLToPath(new URL("..", import.meta.url));
const groupGuard = fileURLToPath(new URL("./group-guard.mjs", import.meta.url));
const main = fileURLToPath(new URL("./main.ts", import.meta.url));

/** The local REST endpoint running as its own process (`npm run local-endpoint`). */
export interface EndpointProcess {
  url: string;
  token: string;
  /** The endpoint's own process id (null where /proc cannot tell), so its memory can be read. */
  pid: number | null;
  /** Stops the endpoint (and the private redis-server it started, if any). */
  close(): Promise<void>;
}

/**
 * Starts `local/main.ts` as `npm run local-endpoint` does, over `redisUrl` (unset: a private
 * redis-server of its own) with a random token on a free port, and resolves with the settings
 * it prints on stdout. A process of its own keeps the endpoint's memory and modules apart from
 * the caller's. It runs under local/group-guard.mjs, as wrangler does, so it ends with the
 * caller however the caller ends. The Redis URL (with its password) goes through the
 * environment, never the command line. Rejects if it exits, or prints no settings within
 * `timeoutMs`, with the end of its stderr.
 */
export async function startEndpointProcess(opts: { redisUrl?: string; timeoutMs?: number } = {}): Promise<EndpointProcess> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  // node --import tsx, not the tsx command: one process under the guard, the endpoint itself.
  const child = spawn(process.execPath, [groupGuard, process.execPath, "--import", "tsx", main], {
    cwd: root,
    // Empty is unset for local/main.ts: a variable of the caller's environment does not leak in.
    env: { ...process.env, REDIS_URL: opts.redisUrl ?? "", UPSTASH_REDIS_REST_TOKEN: "", LOCAL_ENDPOINT_PORT: "" },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000)));
  const settings = new Map<string, string>();
  const lines = createInterface({ input: child.stdout! });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const failed = (why: string) => reject(new Error(`the local endpoint ${why}: ${stderr.trim()}`));
      const exited = () => failed("exited before it was ready");
      child.once("exit", exited);
      timer = setTimeout(() => failed(`printed no settings within ${timeoutMs / 1000} s`), timeoutMs);
      lines.on("line", (line) => {
        const eq = line.indexOf("=");
        if (eq > 0) settings.set(line.slice(0, eq), line.slice(eq + 1));
        if (settings.has("UPSTASH_REDIS_REST_URL") && settings.has("UPSTASH_REDIS_REST_TOKEN")) {
          child.off("exit", exited);
          resolve();
        }
      });
    });
  } catch (error) {
    await stopProcessGroup(child);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return {
    url: settings.get("UPSTASH_REDIS_REST_URL")!,
    token: settings.get("UPSTASH_REDIS_REST_TOKEN")!,
    pid: child.pid === undefined ? null : (childrenOf(child.pid)[0]?.pid ?? null),
    close: () => stopProcessGroup(child),
  };
}
