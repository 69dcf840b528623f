/**
 * Reads what a REST request asks for: one command, a pipeline or a transaction, from a JSON
 * body or from Upstash's path style (`GET /get/key`, `POST /set/key` with the value as body).
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
  const command: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "") continue;
    try {
      command.push(decodeURIComponent(segment));
    } catch {
      return fail("ERR malformed path encoding");
    }
  }
  // Path style takes the last argument (typically a value) from the body, if there is one.
  if (method === "POST" && body.length > 0) command.push(body.toString("utf8"));
  return { ok: true, request: { kind: "single", command } };
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
