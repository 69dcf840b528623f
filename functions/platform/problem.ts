import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * RFC 9457 problem details. Every error the Worker returns, 4xx or 5xx, has this body with
 * `Content-Type: application/problem+json`. `type` is a URN naming the problem
 * (`urn:problem:<slug>`, listed in README "Errors"); extra members carry machine-readable
 * details such as `retryAfterMs` or `errors`.
 */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  [extension: string]: unknown;
}

/** Thrown anywhere in a handler; `app.onError` turns it into the response. */
export class ApiProblem extends HTTPException {
  readonly body: ProblemBody;

  constructor(
    status: ContentfulStatusCode,
    slug: string,
    title: string,
    detail: string,
    extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message: detail });
    this.body = { type: `urn:problem:${slug}`, title, status, detail, ...extensions };
  }

  override getResponse(): Response {
    return problemResponse(this.body, this.headers);
  }
}

/** The one place a problem body becomes a Response. */
export function problemResponse(body: ProblemBody, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: body.status,
    headers: { "Content-Type": "application/problem+json", ...headers },
  });
}
