import { afterAll } from "vitest";
import { endpointStats } from "./helpers";

/**
 * Runs after each test file (files run one at a time, see vitest.config.ts): waits until the
 * local endpoint has seen no request for a moment, so background work a file leaves behind
 * (a refresh handed to waitUntil, a client's retry after an injected fault, a cron run) has
 * landed before the next file starts counting round trips on the endpoint's shared counters.
 */
const QUIET_MS = 300;
const MAX_WAIT_MS = 5000;

afterAll(async () => {
  const deadline = Date.now() + MAX_WAIT_MS;
  let last = (await endpointStats()).requests;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
    const now = (await endpointStats()).requests;
    if (now === last) return;
    last = now;
  }
});
