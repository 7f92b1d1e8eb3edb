import { decodeFrame } from "../channel/msgpack-codec.js";
import type { Logger } from "../logger.js";

/** No own keys: nothing to keep. */
export function isEmpty(data: Record<string, unknown>): boolean {
  for (const _ in data) return false;
  return true;
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Stored data as an object; anything else (a backend's corruption) as nothing. */
export function decodeData(bytes: Uint8Array, logger: Logger): Record<string, unknown> {
  try {
    const data = decodeFrame(bytes);
    if (typeof data === "object" && data !== null && !Array.isArray(data))
      return data as Record<string, unknown>;
  } catch (error) {
    logger.warn({ err: error }, "stored session.data does not decode");
  }
  return {};
}
