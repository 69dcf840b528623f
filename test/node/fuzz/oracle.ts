/**
 * What every answer must satisfy, whatever was sent: never a 500; only a status documented for
 * the operation; every error an RFC 9457 problem+json body whose `status` is the response's;
 * every 2xx JSON body valid under its documented schema (compiled by ajv, JSON Schema 2020-12
 * as OpenAPI 3.1 uses it); and no Redis error text or stack trace in any body.
 */
import Ajv2020, { type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { Operation } from "./operations";
import type { Schema } from "./schema-arbitrary";
import type { FuzzResponse } from "./send";

/** Validates bodies against the document's schemas; compiled once per schema. */
export class SchemaValidator {
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<Schema, ValidateFunction>();

  constructor(doc: Schema) {
    // The document's own keywords (example, description) are annotations: strict mode off.
    this.#ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(this.#ajv);
    this.#ajv.addFormat("binary", true);
    const components = (doc.components as { schemas: Record<string, Schema> }).schemas;
    this.#ajv.addSchema({ $id: "openapi", $defs: rewriteRefs(components) as Record<string, Schema> });
  }

  /** Null when `value` is valid under `schema`, else ajv's errors as text. */
  errors(schema: Schema, value: unknown): string | null {
    let validate = this.#compiled.get(schema);
    if (!validate) {
      validate = this.#ajv.compile(rewriteRefs(schema) as Schema);
      this.#compiled.set(schema, validate);
    }
    return validate(value) ? null : this.#ajv.errorsText(validate.errors);
  }
}

/** `#/components/schemas/X` → `openapi#/$defs/X`, deep. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (typeof node !== "object" || node === null) return node;
  return Object.fromEntries(
    Object.entries(node).map(([key, value]) => [
      key,
      key === "$ref" && typeof value === "string" ? value.replace("#/components/schemas/", "openapi#/$defs/") : rewriteRefs(value),
    ]),
  );
}

// Text that would betray Redis, the runtime or a stack: never sent to a client.
const LEAKS = /\bERR\b|WRONGTYPE|NOSCRIPT|ReplyError|user_script|\n\s+at |TypeError|RangeError|SyntaxError: Unexpected/;

/**
 * The violations of one answer (empty when it is fine). An error is checked as a problem
 * unless the document declares another body for that status (the health report's 503).
 * @param extraStatuses statuses allowed on top of the documented ones
 */
export function violations(op: Operation, res: FuzzResponse, validator: SchemaValidator, extraStatuses: readonly number[] = []): string[] {
  const found: string[] = [];
  // OpenAPI's order: the exact status, then its range ("4XX"), then "default".
  const documented = op.responses[String(res.status)] ?? op.responses[`${Math.floor(res.status / 100)}XX`] ?? op.responses.default;
  if (res.status === 500) found.push(`500: ${res.text.slice(0, 200)}`);
  else if (!documented && !extraStatuses.includes(res.status)) found.push(`status ${res.status} is not documented for ${op.method} ${op.path}`);
  const type = (res.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  const problemSchema = documented?.["application/problem+json"] ?? (res.status >= 400 && !documented ? {} : undefined);
  if (problemSchema) {
    if (type !== "application/problem+json") found.push(`error ${res.status} has Content-Type ${type || "(none)"}, not application/problem+json`);
    const body = parse(res.text);
    if (!body.ok) found.push(`error ${res.status} body is not JSON: ${res.text.slice(0, 120)}`);
    else {
      const errors = validator.errors(problemSchema, body.value);
      if (errors) found.push(`problem body invalid: ${errors}`);
      const status = (body.value as { status?: unknown } | null)?.status;
      if (status !== res.status) found.push(`problem status ${String(status)} ≠ ${res.status}`);
    }
  } else if (res.status === 204 || res.status === 304) {
    if (res.text !== "") found.push(`${res.status} with a body`);
  } else if (documented) {
    const schema = documented[type];
    if (!schema && !documented["*/*"]) found.push(`${res.status} Content-Type ${type || "(none)"} is not documented`);
    if (schema && type === "application/json") {
      const body = parse(res.text);
      if (!body.ok) found.push(`${res.status} application/json body is not JSON`);
      else {
        const errors = validator.errors(schema, body.value);
        if (errors) found.push(`${res.status} body does not match its schema: ${errors}`);
      }
    }
  }
  if (LEAKS.test(res.text)) found.push(`body leaks internals: ${res.text.slice(0, 200)}`);
  return found;
}

function parse(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/**
 * The operation `method rawPath` routes to after the normalisation HTTP stacks apply (`\\` is
 * `/`, `..` and `.` segments resolve), or undefined for none. A raw `/`, `\\` or `..` in a
 * parameter can change the route (`/v1/locks/./extend` is `POST /v1/locks/{name}` with the
 * name "extend"): the answer is then that operation's, or the router's 404. Literal segments
 * win over parameters, as in the router.
 */
export function routedOperation(operations: readonly Operation[], method: string, rawPath: string): Operation | undefined {
  const pathname = new URL(rawPath, "http://fuzz.test").pathname;
  const matching = operations.filter((op) => op.method === method && templatePattern(op.path).test(pathname));
  const literals = (op: Operation) => op.path.split("/").filter((segment) => !segment.startsWith("{")).length;
  return matching.sort((a, b) => literals(b) - literals(a))[0];
}

function templatePattern(template: string): RegExp {
  const pattern = template
    .split(/(\{[^}]+\})/)
    .map((part) => (part === "{path}" ? ".+" : part.startsWith("{") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${pattern}$`);
}
