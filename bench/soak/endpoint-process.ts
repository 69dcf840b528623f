import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stopProcessGroup } from "../../local/wrangler-dev";
import { childrenOf } from "./memory";

/** The local REST endpoint running as its own process (`npm run local-endpoint`). */
export interface EndpointProcess {
  url: string;
  token: string;
  /** The endpoint's own process id (null where /proc cannot tell), so its memory can be read. */
  pid: number | null;
  close(): Promise<void>;
}

/**
 * Starts `local/main.ts` over `redisUrl` and reads its settings lines. The soak runs the
 * endpoint apart from the process that drives the load, so that the endpoint's memory is its
 * own, not mixed with the driver's. It runs under local/group-guard.mjs, as wrangler does, so
 * it ends with this process however this process ends. The Redis URL (with its password) goes
 * through the environment, never the command line.
 */
export async function startEndpointProcess(root: string, redisUrl: string): Promise<EndpointProcess> {
  const guard = join(root, "local", "group-guard.mjs");
  // node --import tsx, not the tsx command: one process under the guard, the endpoint itself.
  const child = spawn(process.execPath, [guard, process.execPath, "--import", "tsx", join(root, "local", "main.ts")], {
    cwd: root,
    env: { ...process.env, REDIS_URL: redisUrl, UPSTASH_REDIS_REST_TOKEN: "", LOCAL_ENDPOINT_PORT: "" },
    stdio: ["pipe", "pipe", "pipe"],
    detached: true,
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr = (stderr + chunk.toString("utf8")).slice(-2000)));
  const settings = new Map<string, string>();
  const lines = createInterface({ input: child.stdout! });
  await new Promise<void>((resolve, reject) => {
    const failed = () => reject(new Error(`the local endpoint exited before it was ready: ${stderr.trim()}`));
    child.once("exit", failed);
    lines.on("line", (line) => {
      const eq = line.indexOf("=");
      if (eq > 0) settings.set(line.slice(0, eq), line.slice(eq + 1));
      if (settings.has("UPSTASH_REDIS_REST_URL") && settings.has("UPSTASH_REDIS_REST_TOKEN")) {
        child.off("exit", failed);
        resolve();
      }
    });
  });
  return {
    url: settings.get("UPSTASH_REDIS_REST_URL")!,
    token: settings.get("UPSTASH_REDIS_REST_TOKEN")!,
    pid: child.pid === undefined ? null : (childrenOf(child.pid)[0] ?? null),
    close: () => stopProcessGroup(child),
  };
}
