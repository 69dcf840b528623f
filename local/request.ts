/**
 * Reads what a REST request asks for: one command, a pipeline or a transaction, from a JSON
 * body or from Upstash's path style (`GET /get/key`, `POST /set/key` with the value as body);
 * or a subscription as an event stream (`POST /subscribe/channel`).
 */
import { commandFromJson } from "./encoding";

/** A well-formed command request. */
export type CommandRequest =
  | { kind: "single"; command: string[] }
  | { kind: "pipeline"; commands: string[][] }
  | { kind: "transaction"; commands: string[][] };

/** The outcome of {@link parseCommandRequest}: the request, or why it is malformed. */
export type ParsedRequest = { ok: true; request: CommandRequest } | { ok: false; error: string };

const fail = (error: string): ParsedRequest => ({ ok: false, error });

/**
 * Parses a command request.
 * @param method HTTP method
 * @param path URL path, not decoded
 * @param body the raw body (empty when there is none)
 * @example parseCommandRequest("POST", "/", Buffer.from('["GET","k"]')) // single ["GET","k"]
 */
export function parseCommandRequest(method: string, path: string, body: Buffer): ParsedRequest {
  if (path === "/pipeline" || path === "/multi-exec") {
    if (method !== "POST") return fail(`ERR ${path} needs POST`);
    const json = parseJson(body);
    if (!json.ok) return fail(json.error);
    if (!Array.isArray(json.value) || json.value.length === 0) return fail("ERR body must be a non-empty array of commands");
    const commands: string[][] = [];
    for (const item of json.value) {
      const command = commandFromJson(item);
      if (!command) return fail("ERR every command must be a non-empty array of strings and numbers");
      commands.push(command);
    }
    return { ok: true, request: { kind: path === "/pipeline" ? "pipeline" : "transaction", commands } };
  }

  if (path === "/" || path === "") {
    if (method !== "POST") return fail("ERR send a command as a JSON array with POST");
    const json = parseJson(body);
    if (!json.ok) return fail(json.error);
    const command = commandFromJson(json.value);
    if (!command) return fail("ERR body must be a non-empty array of strings and numbers");
    return { ok: true, request: { kind: "single", command } };
  }

  if (method !== "GET" && method !== "POST") return fail(`ERR method ${method} not allowed`);
  const command = pathSegments(path);
  if (!command) return fail("ERR malformed path encoding");
  // Path style takes the last argument (typically a value) from the body, if there is one.
  if (method === "POST" && body.length > 0) command.push(body.toString("utf8"));
  return { ok: true, request: { kind: "single", command } };
}

/** A well-formed subscribe request: Upstash's event-stream form of SUBSCRIBE or PSUBSCRIBE. */
export interface SubscribeRequest {
  /** `SUBSCRIBE` for `/subscribe/…`, `PSUBSCRIBE` for `/psubscribe/…`. */
  command: "SUBSCRIBE" | "PSUBSCRIBE";
  /** The channels or patterns, decoded, in path order (at least one). */
  names: string[];
}

/** The outcome of {@link parseSubscribeRequest}. */
export type ParsedSubscribeRequest = { ok: true; request: SubscribeRequest } | { ok: false; error: string };

/**
 * Recognises a subscribe request: `/subscribe/{channel}[/{channel}…]` or
 * `/psubscribe/{pattern}[/{pattern}…]` (GET or POST) that accepts `text/event-stream`.
 *
 * Names are percent-decoded path segments. `@upstash/redis` joins names into the URL without
 * encoding them, and the URL parser of `fetch` then percent-encodes spaces, quotes, `<>{}`,
 * backquotes and non-ASCII characters (so those arrive intact) but drops tabs and line breaks
 * and treats `/`, `\`, `?`, `#`, `.` and `..` as URL syntax, and a `%` followed by two hex
 * digits arrives as an escape: a name with those cannot be subscribed to through that client.
 *
 * @param method HTTP method
 * @param path URL path, not decoded
 * @param accept the request's `Accept` header
 * @returns null when the request is not a subscribe request. Without `Accept:
 *   text/event-stream`, `/subscribe/c` is an ordinary path-style command, and is refused like
 *   SUBSCRIBE in a JSON body.
 * @example parseSubscribeRequest("POST", "/subscribe/a%20b", "text/event-stream")
 * // { ok: true, request: { command: "SUBSCRIBE", names: ["a b"] } }
 */
export function parseSubscribeRequest(method: string, path: string, accept: string | undefined): ParsedSubscribeRequest | null {
  const match = /^\/(p?subscribe)(?:\/|$)/i.exec(path);
  if (!match || !acceptsEventStream(accept)) return null;
  const command = (match[1] ?? "").toUpperCase() === "PSUBSCRIBE" ? "PSUBSCRIBE" : "SUBSCRIBE";
  if (method !== "GET" && method !== "POST") return { ok: false, error: `ERR method ${method} not allowed` };
  const names = pathSegments(path.slice(match[0].length));
  if (!names) return { ok: false, error: "ERR malformed path encoding" };
  if (names.length === 0) return { ok: false, error: `ERR wrong number of arguments for '${command.toLowerCase()}' command` };
  return { ok: true, request: { command, names } };
}

function acceptsEventStream(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(",").some((type) => (type.split(";")[0] ?? "").trim().toLowerCase() === "text/event-stream");
}

/** The non-empty segments of a URL path, percent-decoded; null when one is malformed. */
function pathSegments(path: string): string[] | null {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "") continue;
    try {
      segments.push(decodeURIComponent(segment));
    } catch {
      return null;
    }
  }
  return segments;
}

/** Names of the commands in a request, for fault matching. */
export function commandNames(request: CommandRequest): string[] {
  if (request.kind === "single") return [request.command[0] ?? ""];
  return request.commands.map((command) => command[0] ?? "");
}

function parseJson(body: Buffer): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(body.toString("utf8")) };
  } catch {
    return { ok: false, error: "ERR failed to parse the request body as JSON" };
  }
}
