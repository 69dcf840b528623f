/**
 * workerd reports a fetch whose connection dropped as an "uncaught exception" even when the
 * Worker's code caught the rejection (the tests drop connections on purpose: a lost reply, an
 * origin that is down, a closed stream), with a native stack trace. Those lines say nothing
 * about the code under test, so they are kept out of a passing run's output. Anything else
 * workerd prints still gets through.
 */
const KNOWN_HARMLESS = [/Network connection lost/, /WebSocket peer disconnected/, /stream disconnected prematurely/];
/** How workerd's own log lines start (never vitest's reports, which keep every line). */
const WORKERD_LOG_LINE = /^(uncaught exception|exception = |workerd\/|kj\/)/;
/** A chunk that is only workerd's native stack (addresses), printed after one of those. */
const NATIVE_STACK_ONLY = /^stack:( \S+@[0-9a-f]+)+\s*$/;

/** Drops workerd's reports of connections the tests dropped on purpose from stderr/stdout. */
export function quietKnownWorkerdNoise(): () => void {
  const restore: Array<() => void> = [];
  for (const stream of [process.stderr, process.stdout]) {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : "";
      const fromWorkerd = WORKERD_LOG_LINE.test(text);
      if ((fromWorkerd && KNOWN_HARMLESS.some((pattern) => pattern.test(text))) || NATIVE_STACK_ONLY.test(text)) return true;
      return write(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => {
      stream.write = write as typeof stream.write;
    });
  }
  return () => restore.forEach((undo) => undo());
}
