import { z } from "@hono/zod-openapi";
import { validateName } from "../../shared/keys";

/**
 * A zod refinement from a core validator, so HTTP and the core refuse exactly the same input,
 * and every issue lands in the one 400 with the others. The field name the core puts first in
 * its message is dropped: the issue's path already names the field.
 */
export function coreCheck(check: (value: string) => unknown) {
  return (value: string, ctx: z.RefinementCtx) => {
    try {
      check(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message.replace(/^\S+ /, "") });
    }
  };
}

/** A string the core accepts as a name: 1–`maxBytes` UTF-8 bytes (default 256), no control characters. */
export function nameString(field: string, maxBytes?: number) {
  return z.string().superRefine(coreCheck((value) => validateName(value, field, maxBytes)));
}

/** A path parameter checked like {@link nameString}, documented as such. */
export function nameParam(name: string, description: string, example: string) {
  return nameString(name).openapi({
    param: { name, in: "path" },
    description: `${description}: 1–256 UTF-8 bytes, no control characters or unpaired surrogates`,
    example,
  });
}
