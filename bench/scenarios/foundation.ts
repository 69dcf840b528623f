import { expectStatus, type Scenario } from "../scenario";

export const scenarios: Scenario[] = [
  {
    group: "foundation",
    name: "GET /health (PING)",
    run: async (ctx) => expectStatus(await ctx.call("/health"), 200),
  },
];
