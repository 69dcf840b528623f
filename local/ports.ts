import { createServer } from "node:net";

/**
 * A TCP port that was free a moment ago on 127.0.0.1 (bind port 0, read it, release it).
 * Another process can take it in between; callers that can, retry on a new port.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error("no free port"))));
    });
  });
}
