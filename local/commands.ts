/**
 * Which commands the local endpoint refuses, so that nothing works locally that would fail
 * against Upstash's REST API in production.
 */

/**
 * Commands Upstash does not offer over REST, by upper-case name.
 *
 * Why each group is refused:
 * - blocking commands would hold a pooled connection (and an HTTP request) open; REST has no
 *   long-lived connection to block on;
 * - transactions and database selection are per-connection state, and a REST request has no
 *   connection of its own (use `/multi-exec` for a transaction);
 * - Pub/Sub and MONITOR exist on Upstash only as server-sent event streams, not as commands.
 *   The endpoint serves SUBSCRIBE and PSUBSCRIBE that way (`/subscribe/{channel}…` and
 *   `/psubscribe/{pattern}…` with `Accept: text/event-stream`, see `subscribe.ts`); a stream
 *   ends when its client closes the request, so UNSUBSCRIBE has nothing to act on. MONITOR and
 *   the sharded SSUBSCRIBE are not served at all. PUBLISH and PUBSUB are ordinary commands;
 * - connection commands (other than PING and ECHO) would change or close a shared connection;
 * - cluster and server-administration commands are Upstash's to run, not a client's.
 */
export const REFUSED_COMMANDS: ReadonlySet<string> = new Set([
  // blocking
  "BLPOP", "BRPOP", "BRPOPLPUSH", "BLMOVE", "BLMPOP", "BZPOPMIN", "BZPOPMAX", "BZMPOP", "WAIT", "WAITAOF",
  // per-connection transaction and database state
  "WATCH", "UNWATCH", "MULTI", "EXEC", "DISCARD", "SELECT", "SWAPDB",
  // Pub/Sub and monitoring (subscribing is the event-stream route, not a command)
  "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR",
  // connection
  "AUTH", "HELLO", "QUIT", "RESET", "CLIENT",
  // cluster
  "CLUSTER", "READONLY", "READWRITE", "ASKING",
  // server administration
  "SHUTDOWN", "DEBUG", "SYNC", "PSYNC", "REPLICAOF", "SLAVEOF", "FAILOVER", "MIGRATE", "MODULE", "ACL",
  "SAVE", "BGSAVE", "BGREWRITEAOF", "CONFIG",
]);

/** Stream reads are refused only in their blocking form. */
const BLOCKING_WHEN_BLOCK_ARGUMENT: ReadonlySet<string> = new Set(["XREAD", "XREADGROUP"]);

/**
 * Tells why a command may not run over REST.
 * @param args the command and its arguments, name in any case
 * @returns the error text to send (Redis's "ERR ..." style), or null when the command is allowed
 * @example refusalReason(["blpop", "q", "0"]) // "ERR command 'BLPOP' is not available over the REST API"
 */
export function refusalReason(args: readonly string[]): string | null {
  const name = (args[0] ?? "").toUpperCase();
  if (REFUSED_COMMANDS.has(name)) return notAvailable(name);
  if (BLOCKING_WHEN_BLOCK_ARGUMENT.has(name) && hasBlockOption(args)) return notAvailable(`${name} BLOCK`);
  return null;
}

/**
 * Options come before STREAMS, and GROUP and COUNT take values; a key, group or consumer may
 * well be called "block", so only the option position counts.
 */
function hasBlockOption(args: readonly string[]): boolean {
  let i = 1;
  while (i < args.length) {
    const option = (args[i] ?? "").toUpperCase();
    if (option === "STREAMS") return false;
    if (option === "BLOCK") return true;
    i += option === "GROUP" ? 3 : option === "COUNT" ? 2 : 1;
  }
  return false;
}

function notAvailable(what: string): string {
  return `ERR command '${what}' is not available over the REST API`;
}
