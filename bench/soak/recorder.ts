import { percentile } from "../load";

const SAMPLES_KEPT = 10;

/** One operation's figures in the soak report. */
export interface OperationRow {
  operation: string;
  count: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers outside the operation's expected statuses, by status (`network` when no answer came). */
  errors: Record<string, number>;
}

/**
 * Collects every call's latency and outcome per operation. A call whose status is not one the
 * operation expects (a 404 is expected of a cache read, a 409 of a contended lock) is an error
 * under its status; a call that got no answer is an error under `network`.
 */
export class Recorder {
  readonly #latencies = new Map<string, number[]>();
  readonly #errors = new Map<string, Map<string, number>>();
  /** The first few unexpected answers, with the start of their bodies, to tell why. */
  readonly samples: string[] = [];

  /** Makes `operation` appear in the report even if the load never picked it. */
  declare(operation: string): void {
    if (!this.#latencies.has(operation)) this.#latencies.set(operation, []);
    if (!this.#errors.has(operation)) this.#errors.set(operation, new Map());
  }

  /**
   * Times `call` and checks its status against `expected`. Resolves to the response, or to
   * null when the call failed at the network level; the body is left to the caller.
   */
  async time(operation: string, expected: readonly number[], call: () => Promise<Response>): Promise<Response | null> {
    this.declare(operation);
    const t0 = performance.now();
    let res: Response | null = null;
    try {
      res = await call();
    } catch {
      // counted below as a network error
    }
    this.#latencies.get(operation)!.push(performance.now() - t0);
    if (!res) this.#error(operation, "network");
    else if (!expected.includes(res.status)) {
      this.#error(operation, String(res.status));
      if (this.samples.length < SAMPLES_KEPT) {
        const sample = `${operation} ${res.status} after ${Math.round(performance.now() - t0)} ms: `;
        void res.clone().text().then((text) => this.samples.push(sample + text.slice(0, 300)), () => this.samples.push(sample + "(no body)"));
      }
    }
    return res;
  }

  /** Errors of `operation`, every status summed. */
  errorsOf(operation: string): number {
    let total = 0;
    for (const n of this.#errors.get(operation)?.values() ?? []) total += n;
    return total;
  }

  /** Errors of every operation, summed. */
  totalErrors(): number {
    let total = 0;
    for (const byStatus of this.#errors.values()) for (const n of byStatus.values()) total += n;
    return total;
  }

  /** The rows, by operation name, over a load that lasted `durationMs`. */
  rows(durationMs: number): OperationRow[] {
    return [...this.#latencies.keys()].sort().map((operation) => {
      const sorted = [...this.#latencies.get(operation)!].sort((a, b) => a - b);
      return {
        operation,
        count: sorted.length,
        perSecond: (sorted.length / durationMs) * 1000,
        p50Ms: percentile(sorted, 0.5),
        p99Ms: percentile(sorted, 0.99),
        errors: Object.fromEntries(this.#errors.get(operation) ?? []),
      };
    });
  }

  #error(operation: string, status: string): void {
    const byStatus = this.#errors.get(operation)!;
    byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
  }
}
