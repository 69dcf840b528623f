import { bodyLimit } from "hono/body-limit";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "./app-env";
import { ApiProblem } from "./problem";

/**
 * Refuses bodies over MAX_BODY_BYTES with 413, checking Content-Length first and counting the
 * bytes of a streamed body otherwise (Hono's bodyLimit does both).
 */
export const limitBody = createMiddleware<AppEnv>(async (c, next) => {
  const maxSize = c.var.config.maxBodyBytes;
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new ApiProblem(413, "body-too-large", "Payload too large", `The request body exceeds ${maxSize} bytes`, {
        maxBytes: maxSize,
      });
    },
  })(c, next);
});
