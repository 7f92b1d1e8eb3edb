/**
 * `bytes` random bytes as hex (Web Crypto: core runs in browsers too, so no node:crypto), joined
 * into one flat string: built with `+=` it would be a chain of string pieces until first hashed.
 */
export function randomHex(bytes: number): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (byte) => HEX[byte] as string).join("");
}

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

/** Compared against for an unknown id, so that it costs what a wrong password does. */
export const NO_PASSWORD = new Uint8Array(16);

/** Equal bytes, in time independent of where they differ (no early exit). */
export function sameSecret(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let difference = 0;
  for (let i = 0; i < a.byteLength; i++) difference |= (a[i] as number) ^ (b[i] as number);
  return difference === 0;
}
