/**
 * Copies Swagger UI's files from the npm package `swagger-ui-dist` into `public/docs/vendor/`,
 * where Workers Static Assets serves them, so the docs page at /docs loads no third-party
 * script (no CDN, nothing unpinned: the version is the one in package-lock.json). The copy is
 * not committed; wrangler runs this before every `wrangler dev` and `wrangler deploy` (`[build]`
 * in wrangler.toml), and the Worker tests' setup runs it too.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The files the docs page loads, as the package names them. */
const DOCS_VENDOR_FILES = ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE"] as const;

/** Copies the files into `<root>/public/docs/vendor/`. */
export function copyDocsAssets(root: string): void {
  const packageDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
  const target = join(root, "public", "docs", "vendor");
  mkdirSync(target, { recursive: true });
  for (const file of DOCS_VENDOR_FILES) copyFileSync(join(packageDir, file), join(target, file));
  writeFileSync(join(target, ".gitignore"), "*\n");
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  copyDocsAssets(join(dirname(fileURLToPath(import.meta.url)), ".."));
}
