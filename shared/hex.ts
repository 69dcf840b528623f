/** Bytes as lower-case hex, two digits each. */
export function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** `n` random bytes from `crypto.getRandomValues`, as hex. */
export function randomHex(n: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(n)));
}

/** The digest of the UTF-8 text with `algorithm` ("SHA-1", "SHA-256"), as hex. */
export async function digestHex(algorithm: "SHA-1" | "SHA-256", text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest(algorithm, new TextEncoder().encode(text))));
}
