import { drain, pause, type SoakContext } from "./context";

/**
 * The Cron Trigger, fired by the driver: `wrangler dev` and Miniflare never fire crons on
 * their schedule, and the soak's scheduled invalidations must be applied. Every `everyMs` it
 * fires the per-minute cron twice at once, so that two firings overlap as they may on
 * Cloudflare (each scheduled invalidation must still be applied once).
 */
export function startCronTicker(ctx: SoakContext, everyMs = 2_000): { stop(): Promise<void> } {
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      await Promise.all([fireCron(ctx), fireCron(ctx)]);
      for (let waited = 0; waited < everyMs && !stopping; waited += 100) await pause(100);
    }
  })();
  return {
    stop: async () => {
      stopping = true;
      await loop;
    },
  };
}

/** Fires the cron once, timed as `cache.cron`, and keeps when it was sent and answered. */
export async function fireCron(ctx: SoakContext): Promise<boolean> {
  const sentMs = Date.now();
  const res = await ctx.recorder.time("cache.cron", [200], () => ctx.fireCron());
  await drain(res);
  const ok = res?.status === 200;
  ctx.ledger.cronFirings.push({ sentMs, receivedMs: Date.now(), ok });
  return ok;
}
