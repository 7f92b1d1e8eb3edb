/**
 * SHA-256 of the password, as hex. A backend keeps only this and compares digests: timing can
 * reveal at most a matching prefix of a digest, which says nothing about the password.
 */
export async function hashPassword(password: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", password as Uint8Array<ArrayBuffer>));
  return toHex(digest);
}

/** `bytes` random bytes as hex (Web Crypto: core runs in browsers too). */
export function randomHex(bytes: number): string {
  return toHex(crypto.getRandomValues(new Uint8Array(bytes)));
}

function toHex(bytes: Uint8Array): string {
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
