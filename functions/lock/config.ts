import { MAX_TTL_MS } from "../../shared/lock";
import { defineConfig, intVar } from "../platform/config";

/** Lock settings (docs/locks.md "Configuration"). */
export interface LockConfig {
  /** Lease of an acquire that gives no `ttlMs`. */
  defaultTtlMs: number;
}

/** Reads LOCK_DEFAULT_TTL_MS once per `env`; an invalid value is a ConfigError naming it. */
export const readLockConfig = defineConfig(
  { LOCK_DEFAULT_TTL_MS: intVar(10_000, 1, MAX_TTL_MS) },
  (v): LockConfig => ({ defaultTtlMs: v.LOCK_DEFAULT_TTL_MS }),
);
