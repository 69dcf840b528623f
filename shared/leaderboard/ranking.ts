/**
 * Ranking styles as small strategies. Every read returns a contiguous page of the board
 * (positions `offset`, `offset + 1`, ...), best first; a style turns that page into ranks.
 *
 * Ordinal ranks need nothing but positions. Competition and dense ranks need one count for
 * the page's first entry, taken by the read script in the same request:
 * - competition (1, 2, 2, 4): members with a strictly better score, ZCOUNT on the board,
 *   O(log n);
 * - dense (1, 2, 2, 3): distinct scores strictly better, ZCOUNT on the board's distinct-score
 *   set, O(log n). Submits keep that set up to date (one ZADD per new score, a ZCOUNT and
 *   maybe a ZREM per score left), so dense reads never scan the board.
 * After the first entry, each rank follows from the previous one: equal score, equal rank.
 */

/** The ranking styles a read can ask for. */
export type RankingName = "ordinal" | "competition" | "dense";

/** Every ranking style, the default first. */
export const RANKING_NAMES: readonly RankingName[] = ["ordinal", "competition", "dense"];

/** What the read script counts for a page's first entry. */
export type BetterCount = "none" | "members" | "distinct";

/** A ranking style. */
export interface RankingStyle {
  readonly name: RankingName;
  /** The count the read script must return as `better` for the page's first entry. */
  readonly counts: BetterCount;
  /**
   * 1-based ranks of a page.
   * @param offset 0-based position of the page's first entry
   * @param scores the page's stored scores, best first (equal numbers are ties)
   * @param better the script's count for the first entry (0 when `counts` is "none")
   */
  rankPage(offset: number, scores: readonly number[], better: number): number[];
}

/** 1, 2, 3, 4: the position; ties are ordered by who reached the score first. */
export function ordinal(): RankingStyle {
  return {
    name: "ordinal",
    counts: "none",
    rankPage: (offset, scores) => scores.map((_, i) => offset + i + 1),
  };
}

/** 1, 2, 2, 4: one plus the number of members with a strictly better score. */
export function competition(): RankingStyle {
  return {
    name: "competition",
    counts: "members",
    // A new score starts where its first holder stands: at its position.
    rankPage: (offset, scores, better) => sharedRanks(scores, better, (i) => offset + i + 1),
  };
}

/** 1, 2, 2, 3: one plus the number of distinct strictly better scores. */
export function dense(): RankingStyle {
  return {
    name: "dense",
    counts: "distinct",
    rankPage: (_offset, scores, better) => sharedRanks(scores, better, (_i, previous) => previous + 1),
  };
}

/**
 * Ranks in which equal scores share a rank: the first entry's is `better + 1`, an entry tied
 * with the one before takes its rank, and any other takes `next(i, previous rank)`.
 */
function sharedRanks(scores: readonly number[], better: number, next: (i: number, previous: number) => number): number[] {
  const ranks: number[] = [];
  scores.forEach((score, i) => {
    ranks.push(i === 0 ? better + 1 : score === scores[i - 1] ? ranks[i - 1]! : next(i, ranks[i - 1]!));
  });
  return ranks;
}

const STYLES: Record<RankingName, () => RankingStyle> = { ordinal, competition, dense };

/** The style named `name` (default ordinal). */
export function rankingStyle(name: RankingName = "ordinal"): RankingStyle {
  return STYLES[name]();
}
