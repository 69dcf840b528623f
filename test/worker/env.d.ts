import type { Env as WorkerEnv } from "../../functions/env";

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      /** The local endpoint's base URL, for its /__control API. */
      TEST_CONTROL_URL: string;
      /** The programmable origin server (test/setup/origin.ts). */
      TEST_ORIGIN_URL: string;
    }
  }
}
