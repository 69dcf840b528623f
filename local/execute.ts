/**
 * Runs the three kinds of REST request against Redis — one command, a pipeline, a MULTI/EXEC
 * transaction — and shapes each into the status and JSON body Upstash would answer with.
 */
import type { Redis } from "ioredis";
import { refusalReason } from "./commands";
import { encodeEntry, encodeResult, type EntryBody, type RawReply, type ResponseEncoding } from "./encoding";
import type { ConnectionPool } from "./pool";
import type { PreparedCommand, ScriptRegistry } from "./scripts";
import type { StatsCounter } from "./stats";

/** What the executor needs from the endpoint. */
export interface ExecutionContext {
  pool: ConnectionPool;
  scripts: ScriptRegistry;
  stats: StatsCounter;
}

/** Status and body of a REST reply. */
export interface RestReply {
  status: number;
  body: unknown;
}

/** Redis answered with an error reply (as opposed to not answering at all). */
function isReplyError(value: unknown): value is Error {
  return value instanceof Error && value.name === "ReplyError";
}

function unavailable(error: unknown): RestReply {
  const message = error instanceof Error ? error.message : String(error);
  return { status: 503, body: { error: `Redis is unavailable: ${message}` } };
}

/**
 * Sends one command. The name goes upper-case and the reply is read as buffers, so ioredis
 * neither reshapes replies (its HGETALL-to-object transformer is keyed by lower-case names)
 * nor decodes binary values.
 */
function send(conn: Redis, prepared: PreparedCommand): Promise<RawReply> {
  const [name = "", ...rest] = prepared.args;
  return (conn.callBuffer(name.toUpperCase(), rest) as Promise<RawReply>).then(prepared.adaptReply);
}

/** A failure becomes the resolved value, so a batch can be awaited together. */
function settle(promise: Promise<RawReply>): Promise<RawReply | Error> {
  return promise.catch((error: unknown) => (error instanceof Error ? error : new Error(String(error))));
}

/** `POST /` and path-style requests: 200 `{result}`, 400 `{error}` for a Redis error. */
export async function runSingle(ctx: ExecutionContext, args: string[], encoding: ResponseEncoding): Promise<RestReply> {
  const refused = refusalReason(args);
  if (refused) return { status: 400, body: { error: refused } };
  const prepared = ctx.scripts.prepare(args);
  ctx.stats.recordCommand(args[0] ?? "");
  try {
    const reply = await ctx.pool.withShared((conn) => send(conn, prepared));
    return { status: 200, body: { result: encodeResult(reply, encoding) } };
  } catch (error) {
    if (isReplyError(error)) return { status: 400, body: { error: error.message } };
    return unavailable(error);
  }
}

/**
 * `POST /pipeline`: the commands go out back to back on one connection, in order but not
 * atomically; each gets its own `{result}` or `{error}` (a refused command is an error entry).
 * If Redis stops answering, the whole request is 503: which commands ran is then unknown.
 */
export async function runPipeline(ctx: ExecutionContext, commands: string[][], encoding: ResponseEncoding): Promise<RestReply> {
  try {
    const entries = await ctx.pool.withShared(async (conn) => {
      const outcomes = await Promise.all(
        commands.map((args): Promise<Outcome> => {
          const refused = refusalReason(args);
          if (refused) return Promise.resolve({ error: refused });
          ctx.stats.recordCommand(args[0] ?? "");
          return send(conn, ctx.scripts.prepare(args)).then(
            (reply) => ({ reply }),
            (error: unknown) => (isReplyError(error) ? { error: error.message } : { lost: error }),
          );
        }),
      );
      return outcomes.map((outcome): EntryBody => {
        if ("lost" in outcome) throw outcome.lost;
        return "reply" in outcome ? encodeEntry(outcome.reply, encoding) : outcome;
      });
    });
    return { status: 200, body: entries };
  } catch (error) {
    return unavailable(error);
  }
}

/** One pipelined command: Redis's reply, Redis's (or our) refusal, or no answer at all. */
type Outcome = { reply: RawReply } | { error: string } | { lost: unknown };

/**
 * `POST /multi-exec`: MULTI, the commands, EXEC on a connection leased to this request alone.
 * A refused command rejects the whole transaction up front (400), as does a command Redis
 * refuses while queueing (Redis then discards the transaction: EXECABORT). Otherwise each
 * command gets its `{result}` or `{error}` from EXEC's reply.
 */
export async function runTransaction(ctx: ExecutionContext, commands: string[][], encoding: ResponseEncoding): Promise<RestReply> {
  for (const args of commands) {
    const refused = refusalReason(args);
    if (refused) return { status: 400, body: { error: refused } };
  }
  const prepared = commands.map((args) => ctx.scripts.prepare(args));
  for (const args of commands) ctx.stats.recordCommand(args[0] ?? "");
  try {
    return await ctx.pool.withDedicated(async (conn) => {
      // Sent without awaiting in between: one round trip, and nothing else uses this connection.
      const multi = settle(conn.callBuffer("MULTI") as Promise<RawReply>);
      // adaptReply is applied to EXEC's reply below: while queueing, every reply is "QUEUED".
      const queued = prepared.map(({ args }) => settle(send(conn, { args, adaptReply: (reply) => reply })));
      const exec = settle(conn.callBuffer("EXEC") as Promise<RawReply>);
      const [multiReply, queueReplies, execReply] = await Promise.all([multi, Promise.all(queued), exec]);

      // Anything but a reply error means the connection broke: let withDedicated discard it.
      for (const reply of [multiReply, ...queueReplies, execReply]) {
        if (reply instanceof Error && !isReplyError(reply)) throw reply;
      }
      if (execReply instanceof Error) {
        const cause = queueReplies.find((reply): reply is Error => reply instanceof Error);
        const detail = cause ? ` ${cause.message}` : "";
        return { status: 400, body: { error: `${execReply.message}${detail}` } };
      }
      if (!Array.isArray(execReply)) return { status: 500, body: { error: "ERR unexpected EXEC reply" } };
      const entries = execReply.map((reply, i): EntryBody => {
        const adapted = prepared[i]?.adaptReply(reply) ?? reply;
        return encodeEntry(adapted, encoding);
      });
      return { status: 200, body: entries };
    });
  } catch (error) {
    return unavailable(error);
  }
}
