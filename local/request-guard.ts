import type { IncomingHttpHeaders } from "node:http";

/**
 * What `npm start` refuses before a request reaches `wrangler dev`, and why.
 *
 * - **Host**: only the loopback names of the public port are served. A web page that points its
 *   own domain at 127.0.0.1 (DNS rebinding) sends its domain in `Host`, so it is refused, and
 *   can reach neither `/v1` nor the cron triggers.
 * - **Cross-site triggers**: `/__scheduled` (from `wrangler dev --test-scheduled`) and every
 *   `/cdn-cgi/` path (Miniflare's `/cdn-cgi/handler/scheduled` and friends) fire Worker handlers
 *   with a plain GET and no token, so any page could fire them with an `<img>`. Browsers say
 *   where a request comes from (`Sec-Fetch-Site`, `Origin`); anything but the same origin or a
 *   typed URL is refused. curl and scripts send neither header and keep working.
 */

/** An RFC 9457 problem, as sent with `Content-Type: application/problem+json`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
}

const LOOPBACK_NAMES = ["127.0.0.1", "localhost", "[::1]"];

/**
 * @returns null when `npm start` serves this request, else the problem to answer with.
 * @example guardRequest({ host: "evil.example:8787" }, "/v1/locks/a", 8787) // 403 problem
 */
export function guardRequest(headers: IncomingHttpHeaders, rawPath: string, port: number): Problem | null {
  const host = headers.host ?? "";
  if (!isLoopbackHost(host, port)) {
    return {
      type: "urn:problem:host-not-allowed",
      title: "Host not allowed",
      status: 403,
      detail:
        `This local server answers only requests for ${allowedHosts(port).join(", ")}; ` +
        `this one was for '${host.slice(0, 200)}'. (A guard against DNS rebinding: pages on other domains cannot reach it.)`,
    };
  }
  if (isTriggerPath(rawPath)) {
    const reason = crossSiteReason(headers, port);
    if (reason) {
      return {
        type: "urn:problem:cross-site-trigger",
        title: "Cross-site trigger refused",
        status: 403,
        detail:
          `${pathOf(rawPath)} fires Worker handlers, so browsers may call it only from this origin; ` +
          `this request came from another site (${reason}). Use curl, or open the URL directly.`,
      };
    }
  }
  return null;
}

/** `Host` values that name this server: each loopback name with the port (bare when it is 80). */
export function isLoopbackHost(host: string, port: number): boolean {
  return allowedHosts(port).includes(host.toLowerCase());
}

function allowedHosts(port: number): string[] {
  const withPort = LOOPBACK_NAMES.map((name) => `${name}:${port}`);
  return port === 80 ? [...withPort, ...LOOPBACK_NAMES] : withPort;
}

/** The paths that run Worker handlers other than `fetch`, or Miniflare's own tools. */
export function isTriggerPath(rawPath: string): boolean {
  const path = pathOf(rawPath);
  return path === "/__scheduled" || path === "/cdn-cgi" || path.startsWith("/cdn-cgi/");
}

function pathOf(rawPath: string): string {
  let path = new URL(rawPath, "http://localhost").pathname;
  try {
    path = decodeURIComponent(path);
  } catch {
    // malformed escapes: compare the path as sent
  }
  return path.toLowerCase();
}

/** Why a browser request came from another site, or null when it did not (or is no browser's). */
function crossSiteReason(headers: IncomingHttpHeaders, port: number): string | null {
  const site = headers["sec-fetch-site"];
  if (site === "cross-site" || site === "same-site") return `Sec-Fetch-Site: ${site}`;
  const origin = headers.origin;
  if (origin !== undefined) {
    let host = "";
    try {
      const url = new URL(origin);
      host = url.protocol === "http:" ? url.host : "";
    } catch {
      // "null" (sandboxed frames, file: pages) and garbage: not this origin
    }
    if (!isLoopbackHost(host, port)) return `Origin: ${origin.slice(0, 200)}`;
  }
  return null;
}
