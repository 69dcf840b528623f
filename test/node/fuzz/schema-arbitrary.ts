/**
 * Values valid under a JSON Schema of the OpenAPI document, as fast-check arbitraries. It knows
 * the keywords the service's document uses (type, enum, properties, required,
 * additionalProperties, items, minItems/maxItems, minimum/maximum, minLength/maxLength,
 * pattern, format date-time, $ref, allOf); a schema that says nothing (`value` of a cache
 * entry) is any JSON value. Descriptions carry rules the schema cannot state (names of 1–256
 * UTF-8 bytes without control characters, scores with 3 decimals), so "valid" here means valid
 * for the schema: the Worker may still refuse a value with 400, which the oracle accepts when
 * documented.
 */
import fc from "fast-check";

/** A JSON Schema object as found in an OpenAPI 3.1 document. */
export type Schema = Record<string, unknown>;

/** Resolves `#/components/schemas/X` references against the document. */
export function resolve(schema: Schema, doc: Schema): Schema {
  let current = schema;
  for (let depth = 0; typeof current.$ref === "string" && depth < 16; depth++) {
    const path = current.$ref.replace(/^#\//, "").split("/");
    current = path.reduce<any>((node, part) => node?.[part], doc) as Schema;
    if (!current) throw new Error(`unresolvable $ref ${String(schema.$ref)}`);
  }
  return current;
}

/** Names, tags and ids as a caller would send them: short, printable, sometimes unicode. */
const nameLike = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z][a-z0-9:_-]{0,15}$/) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }) },
);

/** An arbitrary of values valid under `schema`. */
export function validValue(schema: Schema, doc: Schema): fc.Arbitrary<unknown> {
  const s = resolve(schema, doc);
  if (Array.isArray(s.allOf)) {
    // The document uses allOf only to wrap one referenced schema.
    return validValue(Object.assign({}, ...s.allOf.map((part: Schema) => resolve(part, doc))), doc);
  }
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === "string" ? [s.type] : [];
  if (types.length > 1) return fc.oneof(...types.map((type) => validValue({ ...s, type }, doc)));
  switch (types[0]) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer":
      return fc.integer({ min: bound(s.minimum, -1e9), max: bound(s.maximum, 1e9) });
    case "number":
      return fc.oneof(
        fc.integer({ min: bound(s.minimum, -1e6), max: bound(s.maximum, 1e6) }),
        fc.double({ min: bound(s.minimum, -1e6), max: bound(s.maximum, 1e6), noNaN: true, noDefaultInfinity: true }),
        // Edges a description may set (a score is within ±1e12 with 3 decimals): at, inside, just past.
        fc.constantFrom(1e12, -1e12, 999_999_999_999.999, -999_999_999_999.999, 1e12 + 0.001, 0.001, 0.0005, -0, 123.456, 2 ** 53, 1e-7),
      );
    case "string":
      return stringValue(s);
    case "array": {
      const min = typeof s.minItems === "number" ? s.minItems : 0;
      const max = Math.min(typeof s.maxItems === "number" ? s.maxItems : 8, min + 8);
      return fc.array(validValue((s.items as Schema | undefined) ?? {}, doc), { minLength: min, maxLength: max });
    }
    case "object":
      return objectValue(s, doc);
    default:
      return fc.jsonValue({ maxDepth: 3 });
  }
}

function bound(value: unknown, fallback: number): number {
  return typeof value === "number" ? value : fallback;
}

function stringValue(s: Schema): fc.Arbitrary<string> {
  if (typeof s.pattern === "string") return fc.stringMatching(new RegExp(s.pattern));
  if (s.format === "date-time") {
    return fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2100-01-01T00:00:00Z"), noInvalidDate: true }).map((d) => d.toISOString());
  }
  const min = typeof s.minLength === "number" ? s.minLength : 0;
  const max = typeof s.maxLength === "number" ? s.maxLength : 32;
  return nameLike.filter((text) => text.length >= min && text.length <= max);
}

function objectValue(s: Schema, doc: Schema): fc.Arbitrary<Record<string, unknown>> {
  const properties = (s.properties ?? {}) as Record<string, Schema>;
  const required = new Set((s.required ?? []) as string[]);
  const model = Object.fromEntries(Object.entries(properties).map(([name, prop]) => [name, validValue(prop, doc)]));
  if (Object.keys(model).length === 0) return fc.dictionary(nameLike, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 });
  return fc.record(model, { requiredKeys: [...required].filter((name) => name in model) });
}
