/** The Redis client the cores take by injection, and its one factory. */
export { assertRawReplies, createRedis, type RedisClient, type ScriptClient } from "./client";
export { decode, RestRequester, type RestOptions } from "./requester";
