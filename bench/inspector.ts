import { WebSocket } from "undici";

/** The V8 inspector of one Worker under Miniflare, for what its JS heap keeps. */
export interface HeapProbe {
  /**
   * Collects garbage, then reads the bytes the JS heap still uses: what the Worker's code (or
   * the runtime's JS objects it holds) keeps alive. `poke` sends the Worker one request:
   * workerd runs an inspector's garbage collection only when it next enters the isolate.
   */
  usedAfterGc(poke: () => Promise<void>): Promise<number>;
  close(): void;
}

/**
 * Connects to the inspector target of the user Worker (`core:user:<name>`) that Miniflare
 * serves at `inspectorUrl` (Miniflare's `getInspectorURL()`, when started with `inspectorPort`).
 */
export async function connectHeapProbe(inspectorUrl: URL): Promise<HeapProbe> {
  const targets = (await (await fetch(`http://${inspectorUrl.host}/json/list`)).json()) as Array<{ id: string; webSocketDebuggerUrl: string }>;
  const target = targets.find((t) => t.id.startsWith("core:user:"));
  if (!target) throw new Error(`no user Worker among the inspector's targets: ${targets.map((t) => t.id).join(", ")}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  ws.binaryType = "arraybuffer";
  const waiting = new Map<number, (reply: { result?: Record<string, unknown>; error?: { message: string } }) => void>();
  ws.addEventListener("message", (event) => {
    const reply = JSON.parse(typeof event.data === "string" ? event.data : Buffer.from(event.data as ArrayBuffer).toString("utf8"));
    waiting.get(reply.id)?.(reply);
    waiting.delete(reply.id);
  });
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve(), { once: true });
    ws.addEventListener("error", () => reject(new Error(`could not connect to ${target.webSocketDebuggerUrl}`)), { once: true });
  });
  let nextId = 0;
  const send = (method: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const id = ++nextId;
      waiting.set(id, (reply) => (reply.error ? reject(new Error(`${method}: ${reply.error.message}`)) : resolve(reply.result ?? {})));
      ws.send(JSON.stringify({ id, method, params: {} }));
    });
  return {
    async usedAfterGc(poke) {
      let collected = false;
      const gc = send("HeapProfiler.collectGarbage").then(() => void (collected = true));
      while (!collected) {
        await poke();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await gc;
      return Number((await send("Runtime.getHeapUsage")).usedSize);
    },
    close: () => ws.close(),
  };
}
