/**
 * Request and command counters of the local endpoint, so tests can assert how many round
 * trips and commands an operation costs (each one is a billed command on Upstash).
 */

/** Counters since start or the last reset. */
export interface EndpointStats {
  /**
   * HTTP requests to the command routes (`/`, `/pipeline`, `/multi-exec`, path-style),
   * including those an injected fault failed; not those refused for their token or body.
   */
  requests: number;
  /**
   * Commands sent to Redis; each command of a pipeline or transaction counts (not the MULTI and
   * EXEC around it), refused commands and requests failed by a fault do not.
   */
  commands: number;
  /** `commands`, split by upper-case command name. */
  byCommand: Record<string, number>;
  /** Command requests being handled right now (not reset by a reset). */
  inFlight: number;
  /**
   * Subscribe requests (`/subscribe/…`, `/psubscribe/…` as event streams), including those
   * refused because too many streams were open; not those refused for their token or path.
   * They count neither in `requests` nor in `commands`.
   */
  subscribeRequests: number;
  /**
   * Subscribe streams open right now, including those still subscribing (not reset by a
   * reset). Not part of `inFlight`: a stream stays open for as long as its client listens.
   */
  openStreams: number;
}

/** Mutable counters behind {@link EndpointStats}. */
export class StatsCounter {
  private requests = 0;
  private commands = 0;
  private byCommand = new Map<string, number>();
  private inFlight = 0;
  private subscribeRequests = 0;
  private openStreams = 0;

  /**
   * Counts one HTTP request to a command route as started; call the returned function when
   * it is answered (or dropped). Tests wait for `inFlight` 0 before counting, so a request that
   * started earlier cannot add its commands to their count.
   */
  startRequest(): () => void {
    this.requests++;
    this.inFlight++;
    let done = false;
    return () => {
      if (!done) this.inFlight--;
      done = true;
    };
  }

  /** Counts one command by its name (any case). */
  recordCommand(name: string): void {
    const upper = name.toUpperCase();
    this.commands++;
    this.byCommand.set(upper, (this.byCommand.get(upper) ?? 0) + 1);
  }

  /** Counts one subscribe request. */
  recordSubscribeRequest(): void {
    this.subscribeRequests++;
  }

  /** Counts one subscribe stream as open; call the returned function when it ends (once or more). */
  openStream(): () => void {
    this.openStreams++;
    let done = false;
    return () => {
      if (!done) this.openStreams--;
      done = true;
    };
  }

  /** A copy of the counters; later requests do not change it. */
  snapshot(): EndpointStats {
    return {
      requests: this.requests,
      commands: this.commands,
      byCommand: Object.fromEntries(this.byCommand),
      inFlight: this.inFlight,
      subscribeRequests: this.subscribeRequests,
      openStreams: this.openStreams,
    };
  }

  /** Sets every counter back to zero. */
  reset(): void {
    this.requests = 0;
    this.commands = 0;
    this.byCommand = new Map();
    this.subscribeRequests = 0;
  }
}
