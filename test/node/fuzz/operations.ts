/**
 * The operations of the OpenAPI document, and for each an arbitrary of HTTP requests: path
 * parameters, query, headers and body drawn from the documented schemas, or hostile in any
 * one of those places (or several), or aimed at the names of the data seeded before the run.
 */
import fc from "fast-check";
import { clientAddress, contentType, encode, headerSafe, hostileBodyText, hostileHeaderValue, hostileQueryValue, hostileRawSegment, hostileString, wrongTypeValue } from "./hostile";
import { resolve, validValue, type Schema } from "./schema-arbitrary";

/** One documented operation. */
export interface Operation {
  method: string;
  /** The path template, e.g. `/v1/locks/{name}`. */
  path: string;
  parameters: Array<{ name: string; in: "path" | "query" | "header"; required?: boolean; schema: Schema }>;
  /** The JSON body's schema, when the operation takes one. */
  body?: { schema: Schema; required: boolean };
  /** Documented responses by status ("200", "default"): content type → schema. */
  responses: Record<string, Record<string, Schema>>;
  /** True when the operation needs the bearer token. */
  secured: boolean;
}

/** A request as sent: the raw path (already encoded, as it goes on the request line). */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

/** Lists every operation of the document. */
export function operationsOf(doc: Schema): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
    for (const [method, op] of Object.entries(item)) {
      const json = op.requestBody?.content?.["application/json"];
      operations.push({
        method: method.toUpperCase(),
        path,
        parameters: (op.parameters ?? []).map((p: any) => ({ name: p.name, in: p.in, required: p.required, schema: p.schema ?? {} })),
        ...(json ? { body: { schema: json.schema, required: op.requestBody.required === true } } : {}),
        responses: Object.fromEntries(
          Object.entries(op.responses as Record<string, any>).map(([status, r]) => [
            status,
            Object.fromEntries(Object.entries((r.content ?? {}) as Record<string, any>).map(([type, c]) => [type, c.schema ?? {}])),
          ]),
        ),
        secured: Array.isArray(op.security) ? op.security.length > 0 : Array.isArray(doc.security) && doc.security.length > 0,
      });
    }
  }
  return operations;
}

/** What the generator needs besides the document. */
export interface RequestContext {
  doc: Schema;
  token: string;
  /** Names of seeded data, so that near-misses of them are tried (never the names themselves). */
  seedNames: readonly string[];
}

/**
 * Values the fuzzer keeps small so a run stays short; the schema allows more. A lock acquire
 * may wait up to 10 s for a held lock: a run would spend its time waiting, not fuzzing.
 */
function tame(op: Operation, body: unknown): unknown {
  if (op.method === "POST" && op.path === "/v1/locks/{name}" && isObject(body) && typeof body.waitMs === "number") {
    return { ...body, waitMs: Math.min(body.waitMs, 100) };
  }
  return body;
}

/**
 * An arbitrary of requests to `op`: a third entirely valid (every part from the schemas, the
 * right token, JSON), so success paths are reached; the rest valid or hostile part by part.
 */
export function requestArbitrary(op: Operation, ctx: RequestContext): fc.Arbitrary<FuzzRequest> {
  return fc.oneof({ weight: 1, arbitrary: requests(op, ctx, true) }, { weight: 2, arbitrary: requests(op, ctx, false) });
}

function requests(op: Operation, ctx: RequestContext, valid: boolean): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.parameters.filter((p) => p.in === "path");
  const queryParams = op.parameters.filter((p) => p.in === "query");
  const headerParams = op.parameters.filter((p) => p.in === "header");
  const segments = fc.tuple(...pathParams.map((p) => pathSegment(p.name, p.schema, ctx, valid)));
  const query = fc.tuple(...queryParams.map((p) => queryPart(p.name, p.schema, ctx, valid)), valid ? fc.constant("") : extraQuery);
  const headers = fc.tuple(...headerParams.map((p) => headerPart(p.name, p.schema, p.required === true, ctx, valid)));
  return fc
    .record({
      segments,
      query,
      headers,
      auth: valid ? fc.constant(`Bearer ${ctx.token}`) : authHeader(ctx.token, op.secured),
      body: valid ? validBody(op, ctx) : bodyPart(op, ctx),
      type: valid ? fc.constant("application/json") : contentType,
      ip: valid ? fc.ipV4() : clientAddress,
    })
    .map(({ segments, query, headers, auth, body, type, ip }) => {
      let path = op.path;
      pathParams.forEach((p, i) => (path = path.replace(`{${p.name}}`, segments[i]!)));
      const search = query.filter((part) => part !== "").join("&");
      const all: Record<string, string> = Object.assign({ "cf-connecting-ip": ip }, ...headers);
      if (auth !== undefined) all.authorization = auth;
      if (body !== undefined && type !== undefined) all["content-type"] = type;
      const req: FuzzRequest = { method: op.method, path: search ? `${path}?${search}` : path, headers: all, ...(body === undefined ? {} : { body }) };
      // fast-check prints a counterexample with this: short, whatever the request's size.
      Object.defineProperty(req, fc.toStringMethod, { value: () => summary(req), enumerable: false });
      return req;
    });
}

/** A path parameter, as it goes into the raw path. */
function pathSegment(name: string, schema: Schema, ctx: RequestContext, onlyValid: boolean): fc.Arbitrary<string> {
  // The proxy's path may hold "/": several encoded segments.
  const valid =
    name === "path"
      ? fc.array(validValue(schema, ctx.doc).map((v) => encode(String(v))), { minLength: 1, maxLength: 4 }).map((parts) => parts.join("/"))
      : withExample(schema, validValue(schema, ctx.doc)).map((v) => encode(String(v)));
  if (onlyValid) return valid;
  return fc.oneof(
    { weight: 6, arbitrary: valid },
    { weight: 2, arbitrary: hostileString.map(encode) },
    { weight: 2, arbitrary: hostileRawSegment },
    { weight: 1, arbitrary: fc.tuple(valid, hostileRawSegment).map(([v, raw]) => `${v}${raw}`) },
    { weight: 2, arbitrary: seedNearMiss(ctx).map(encode) },
  );
}

/** `name=value`, or "" when the parameter is left out. */
function queryPart(name: string, schema: Schema, ctx: RequestContext, onlyValid: boolean): fc.Arbitrary<string> {
  const pair = (value: string) => `${encode(name)}=${encode(value)}`;
  const valid = withExample(schema, validValue(schema, ctx.doc)).map((v) => (v === null ? "" : pair(String(v))));
  if (onlyValid) return fc.oneof(fc.constant(""), valid);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    { weight: 5, arbitrary: valid },
    { weight: 3, arbitrary: hostileQueryValue.map(pair) },
    { weight: 1, arbitrary: fc.tuple(hostileQueryValue, hostileQueryValue).map(([a, b]) => `${pair(a)}&${pair(b)}`) },
    { weight: 1, arbitrary: fc.constant(encode(name)) },
  );
}

/** Query parameters the document does not know. */
const extraQuery: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: fc.constant("") },
  { weight: 1, arbitrary: fc.constantFrom("__proto__=1", "x=%00", "a[b]=1", "%ZZ=1", "=", "&&", "constructor[prototype][x]=1") },
);

function headerPart(name: string, schema: Schema, required: boolean, ctx: RequestContext, onlyValid: boolean): fc.Arbitrary<Record<string, string>> {
  const valid = withExample(schema, validValue(schema, ctx.doc)).map((v) => ({ [name]: headerSafe(String(v)) }));
  if (onlyValid) return required ? valid : fc.oneof(valid, fc.constant({}));
  return fc.oneof(
    { weight: required ? 6 : 3, arbitrary: valid },
    { weight: required ? 1 : 3, arbitrary: fc.constant({}) },
    { weight: 2, arbitrary: hostileHeaderValue.map((v) => ({ [name]: v })) },
  );
}

/** Mostly the right token; sometimes none, a wrong one, or a malformed header. */
function authHeader(token: string, secured: boolean): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: secured ? 20 : 5, arbitrary: fc.constantFrom(`Bearer ${token}`, `bearer ${token}`, `Bearer  ${token} `) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, "Bearer", "Bearer ", `Basic ${token}`, `Bearer ${token}x`, `Bearer ${token.toUpperCase()}`, `Bearer ${token} ${token}`) },
    { weight: 1, arbitrary: hostileHeaderValue.map((v) => `Bearer ${v}`) },
  );
}

/**
 * A body valid under the schema, as text: every documented field, or only the required ones
 * (the schema cannot state cross-field rules, such as `encoding` needing `contentType`, so the
 * minimal body is what reaches the success path most often).
 */
function validBody(op: Operation, ctx: RequestContext): fc.Arbitrary<string | undefined> {
  if (!op.body) return fc.constant(undefined);
  const schema = resolve(op.body.schema, ctx.doc);
  const required = new Set((schema.required ?? []) as string[]);
  const minimal = { ...schema, properties: Object.fromEntries(Object.entries((schema.properties ?? {}) as Record<string, Schema>).filter(([name]) => required.has(name))) };
  const full = validValue(schema, ctx.doc).map((b) => tame(op, b));
  const bodies = fc.oneof(full, validValue(minimal, ctx.doc).map((b) => tame(op, b))).map((b) => JSON.stringify(b));
  return op.body.required ? bodies : fc.oneof(bodies, fc.constant(undefined));
}

/** The body as text, or undefined for none. */
function bodyPart(op: Operation, ctx: RequestContext): fc.Arbitrary<string | undefined> {
  if (!op.body) {
    // A body the route never reads stays at most 64 KiB: a larger one, still unread in the
    // socket when the Worker answers and closes, makes the kernel reset the connection, and
    // the client loses the answer (TCP, not the Worker; the 413 test covers bodies over the limit).
    const unread = hostileBodyText.filter((text) => Buffer.byteLength(text) <= 64 * 1024);
    return fc.oneof({ weight: 9, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: unread });
  }
  const schema = resolve(op.body.schema, ctx.doc);
  const valid = validValue(schema, ctx.doc).map((b) => tame(op, b));
  const fields = Object.keys((schema.properties ?? {}) as Record<string, unknown>);
  const oneWrongField =
    fields.length === 0
      ? valid
      : fc.tuple(valid, fc.constantFrom(...fields), wrongTypeValue).map(([body, field, value]) => (isObject(body) ? { ...body, [field]: value } : body));
  const nearSeed = fields.length === 0 ? valid : fc.tuple(valid, fc.constantFrom(...fields), seedNearMiss(ctx)).map(([body, field, value]) => (isObject(body) ? { ...body, [field]: field === "tags" || field === "keys" ? [value] : value } : body));
  // As text: an object literal would turn "__proto__" into a prototype, not a field.
  const extraField = fc.tuple(valid, fc.constantFrom("__proto__", "constructor", "extra", ""), wrongTypeValue).map(([body, field, value]) => {
    const text = JSON.stringify(body) ?? "null";
    if (!isObject(body)) return text;
    const member = `${JSON.stringify(field)}:${JSON.stringify(value) ?? "null"}`;
    return Object.keys(body).length ? `{${member},${text.slice(1)}` : `{${member}}`;
  });
  return fc.oneof(
    { weight: 8, arbitrary: valid.map((b) => JSON.stringify(b)) },
    { weight: 3, arbitrary: oneWrongField.map((b) => JSON.stringify(b)) },
    { weight: 2, arbitrary: nearSeed.map((b) => JSON.stringify(b)) },
    { weight: 1, arbitrary: extraField },
    { weight: 2, arbitrary: hostileBodyText },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

/** The schema's example now and then, so valid values also hit names the service knows ("api"). */
function withExample(schema: Schema, arbitrary: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return "example" in schema ? fc.oneof(arbitrary, fc.constant(schema.example)) : arbitrary;
}

/**
 * Names that differ from a seeded one in a way a careless service might ignore: case,
 * whitespace, invisible characters, unicode normalisation, traversal, a NUL.
 */
function seedNearMiss(ctx: RequestContext): fc.Arbitrary<string> {
  const transforms: Array<(name: string) => string> = [
    (n) => n.toUpperCase(),
    (n) => ` ${n}`,
    (n) => `${n} `,
    (n) => `${n}\u200b`,
    (n) => `${n}\u0000`,
    (n) => `${n}/`,
    (n) => `./${n}`,
    (n) => `x/../${n}`,
    (n) => `${n}*`,
    (n) => n.slice(0, -1),
    (n) => `${n}${n}`,
    (n) => n.replace(/e/g, "\u0435"), // Cyrillic е
    (n) => n.normalize("NFD").replace(/-/g, "\u2010"),
  ];
  return fc.tuple(fc.constantFrom(...ctx.seedNames), fc.constantFrom(...transforms)).map(([name, transform]) => transform(name));
}

/** One line describing `req`, at most a few hundred characters. */
export function summary(req: FuzzRequest): string {
  const cut = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);
  const body = req.body === undefined ? "" : ` body ${cut(JSON.stringify(req.body), 300)}`;
  return `${req.method} ${cut(req.path, 300)} headers ${cut(JSON.stringify(req.headers), 300)}${body}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
