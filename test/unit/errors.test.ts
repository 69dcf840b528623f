import { describe, expect, it } from "vitest";
import { isRedisUnavailable, RedisUnavailableError, redisErrorCode } from "../../shared/errors";

function upstashError(message: string): Error {
  const error = new Error(message);
  error.name = "UpstashError";
  return error;
}

describe("redisErrorCode", () => {
  it("reads the code at the start of Redis's reply, directly or after the pipeline prefix", () => {
    expect(redisErrorCode(upstashError("NOSCRIPT No matching script. Please use EVAL."))).toBe("NOSCRIPT");
    expect(redisErrorCode(upstashError("Command failed: NOSCRIPT No matching script"))).toBe("NOSCRIPT");
    expect(redisErrorCode(upstashError("Command 1 [ EVALSHA ] failed: WRONGTYPE Operation against a key"))).toBe("WRONGTYPE");
  });

  it("is never fooled by user data later in the message", () => {
    expect(redisErrorCode(upstashError('ERR value "NOSCRIPT timeout" is not an integer'))).toBe("ERR");
    expect(redisErrorCode(new Error("NOSCRIPT"))).toBeUndefined(); // not a Redis reply
    expect(redisErrorCode("NOSCRIPT x")).toBeUndefined();
  });
});

describe("isRedisUnavailable", () => {
  it("is true only for RedisUnavailableError, never for a TypeError or a message", () => {
    expect(isRedisUnavailable(new RedisUnavailableError("x", "timeout"))).toBe(true);
    expect(isRedisUnavailable(new TypeError("network timeout unavailable"))).toBe(false);
    expect(isRedisUnavailable(upstashError("ERR timed out"))).toBe(false);
  });
});
