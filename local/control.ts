/**
 * The control API of the local endpoint, under `/__control/`. Tests that run inside workerd
 * can only reach the endpoint with fetch, so counters and faults are driven over HTTP too.
 * The caller must present the same token as for commands; nothing here is counted in stats.
 *
 * - `GET /__control/stats` → `EndpointStats` JSON
 * - `POST /__control/stats/reset` → 204
 * - `GET /__control/faults` → the active `FaultConfig`
 * - `PUT /__control/faults` with a `FaultConfig` JSON body → 204 (replaces the active faults)
 * - `DELETE /__control/faults` → 204
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parseFaultConfig, type FaultInjector } from "./faults";
import { readBody, sendEmpty, sendJson } from "./http-io";
import type { StatsCounter } from "./stats";

/** Path prefix of the control API. */
export const CONTROL_PREFIX = "/__control/";

const MAX_CONTROL_BODY_BYTES = 64 * 1024;

/** What the control API acts on. */
export interface ControlState {
  stats: StatsCounter;
  faults: FaultInjector;
}

/** Answers one control request; `path` is the URL path, already known to start with the prefix. */
export async function handleControl(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  state: ControlState,
  syncToken: string,
): Promise<void> {
  const route = `${req.method ?? "GET"} ${path.slice(CONTROL_PREFIX.length).replace(/\/+$/, "")}`;
  switch (route) {
    case "GET stats":
      return sendJson(res, 200, state.stats.snapshot(), syncToken);
    case "POST stats/reset":
      state.stats.reset();
      return sendEmpty(res, 204, syncToken);
    case "GET faults":
      return sendJson(res, 200, state.faults.current(), syncToken);
    case "DELETE faults":
      state.faults.clear();
      return sendEmpty(res, 204, syncToken);
    case "PUT faults": {
      const read = await readBody(req, MAX_CONTROL_BODY_BYTES);
      if (!read.ok) return sendJson(res, 413, { error: "fault config too large" }, syncToken);
      try {
        state.faults.set(parseFaultConfig(JSON.parse(read.body.toString("utf8"))));
      } catch (error) {
        return sendJson(res, 400, { error: `invalid fault config: ${(error as Error).message}` }, syncToken);
      }
      return sendEmpty(res, 204, syncToken);
    }
    default:
      return sendJson(res, 404, { error: `no control route ${route}` }, syncToken);
  }
}
