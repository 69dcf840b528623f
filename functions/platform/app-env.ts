import type { RedisClient } from "../../shared/redis";
import type { Config } from "./config";
import type { Env } from "../env";

/** Hono's typing of this app: the Worker's bindings and per-request variables. */
export interface AppEnv {
  Bindings: Env;
  Variables: {
    config: Config;
    /** Built on first use by `redisOf(c)`; absent until then. */
    redis: RedisClient;
  };
}
