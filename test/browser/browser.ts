import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, expect, inject } from "vitest";

/**
 * Helpers of the browser tests: the system's Chromium driven by playwright-core (never a
 * downloaded browser), the console opened with the API token, API calls from Node, and
 * screenshots of a view at desktop and phone width.
 */

export const baseUrl = inject("consoleBaseUrl");
export const token = inject("consoleToken");
export const screenshotDir = fileURLToPath(new URL("./screenshots/", import.meta.url));

export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 375, height: 812 };

/** A short random suffix, so every test works on its own boards, keys and tags. */
export const uid = () => randomBytes(4).toString("hex");

/** CHROMIUM_PATH, else the first chromium (or Chrome) on PATH. */
function chromiumPath(): string {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    for (const name of ["chromium", "chromium-browser", "google-chrome"]) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  throw new Error("No Chromium found on PATH: install it (Debian/Ubuntu: apt-get install chromium) or set CHROMIUM_PATH");
}

/**
 * Chromium, headless, with a fresh profile that is deleted on close. The flags keep it off the
 * network except for the page under test (no component updates, sync or background calls).
 */
async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), "console-e2e-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    viewport: DESKTOP,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** One Chromium per test file: launched before its tests and closed after them. */
export function useBrowser(): { readonly context: BrowserContext } {
  let browser: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(() => browser?.close());
  return {
    get context() {
      if (!browser) throw new Error("the browser is launched in beforeAll");
      return browser.context;
    },
  };
}

/** The token dialog's input. */
export const tokenInput = (page: Page) => page.getByRole("textbox", { name: "Token" });

const pageErrors = new WeakMap<Page, string[]>();

/** Uncaught errors of the page's scripts so far (a test ends by expecting none). */
export const errorsOf = (page: Page) => pageErrors.get(page) ?? [];

/** A new tab on /console/ (at `view`, e.g. "#counters"), still at the token dialog. */
export async function newConsolePage(context: BrowserContext, view = ""): Promise<Page> {
  const page = await context.newPage();
  const errors: string[] = [];
  pageErrors.set(page, errors);
  page.on("pageerror", (error) => errors.push(error.message));
  await page.goto(`${baseUrl}/console/${view}`);
  return page;
}

/** A new tab on /console/ (at `view`, e.g. "#counters"), past the token dialog. */
export async function openConsole(context: BrowserContext, view = ""): Promise<Page> {
  const page = await newConsolePage(context, view);
  await tokenInput(page).fill(token);
  await page.getByRole("button", { name: "Use token" }).click();
  await page.getByRole("dialog").waitFor({ state: "hidden" });
  return page;
}

/** A call to the API from the test itself, with the bearer token; throws unless 2xx. */
export async function api(path: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const response = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? (init.body === undefined ? "GET" : "POST"),
    headers: {
      Authorization: `Bearer ${token}`,
      ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
      ...init.headers,
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  if (!response.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${response.status} ${await response.text()}`);
  return response.status === 204 ? null : response.json();
}

/** Width of the page's content: more than the viewport means a horizontal scroll. */
export const scrollWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth);

/**
 * Screenshots of the page as it is, at desktop (1280×800) and phone (375×812) width, as
 * `<name>-desktop.png` and `<name>-phone.png`; at phone width the page must not scroll
 * sideways. The viewport is back at desktop size afterwards.
 */
export async function snapshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(screenshotDir, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  // Charts redraw at the new width on the next frame.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
  expect(await scrollWidth(page), `${name} at 375 px scrolls sideways`).toBeLessThanOrEqual(PHONE.width);
  await page.screenshot({ path: join(screenshotDir, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}
