import { createHash } from "node:crypto";
import type { RequestAdmission, ResponseMessage } from "@tether/core";
import { Packr } from "msgpackr";

/** How values are written in Redis: plain MessagePack, as the wire codec writes. */
export const packr = new Packr({ useRecords: false });

/**
 * SHA-256 of the password. Redis keeps only this, and compares digests: timing can reveal at
 * most a matching prefix of a digest, which says nothing about the password.
 */
export function hashPassword(password: Uint8Array): string {
  return createHash("sha256").update(password).digest("hex");
}

/** What the admit script said about one request. */
export function admissionOf([code, value]: [number, Buffer?]): RequestAdmission {
  switch (code) {
    case 3:
      return { kind: "run" };
    case 1:
      return { kind: "answered", response: packr.unpack(value as Buffer) as ResponseMessage };
    case 2:
      return { kind: "elsewhere", server: (value as Buffer).toString() };
    case 0:
      return { kind: "gone" };
    default:
      return { kind: "refused" };
  }
}

/** A push's seq from its stream entry id (`<seq>-0`). */
export function streamSeq(entryId: Buffer | string): number {
  const text = entryId.toString();
  return Number(text.slice(0, text.indexOf("-")));
}

/** A pub/sub message: MessagePack values one after another, as the Lua scripts write them. */
export function packMessage(...values: unknown[]): Buffer {
  return Buffer.concat(values.map((value) => packr.pack(value)));
}

/** A principal as stored, or null if it cannot be read back. */
export function unpackPrincipal(raw: Buffer): unknown {
  try {
    return packr.unpack(raw);
  } catch {
    return null;
  }
}
