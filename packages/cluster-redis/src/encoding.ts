import { createHash } from "node:crypto";
import {
  decodeFrame,
  decodeServerMessage,
  encodeFrame,
  encodeServerMessage,
  type KeptAnswer,
  MessageType,
  type RequestAdmission,
  type ResponseMessage,
} from "@tether/core";
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

/** The character code of "0": the scripts answer each item of a batch with one digit. */
const ZERO = 0x30;

/** What the complete script said about each answer of a batch: 1 kept, 2 over the bound, 0 not. */
export function keptOf(codes: Buffer): KeptAnswer[] {
  const kept = new Array<KeptAnswer>(codes.length);
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    kept[i] = code === ZERO + 1 ? "kept" : code === ZERO + 2 ? "full" : "refused";
  }
  return kept;
}

/**
 * What the admit script said about each request of a batch: one digit per request, and the
 * answer or the running server of each one answered or running elsewhere, in order.
 */
export function admissionsOf(codes: Buffer, values: readonly Buffer[]): RequestAdmission[] {
  let next = 0;
  return Array.from(codes, (code): RequestAdmission => {
    switch (code - ZERO) {
      case 3:
        return RUN;
      case 1:
        return { kind: "answered", response: responseOf(values[next++] as Buffer) };
      case 2:
        return { kind: "elsewhere", server: (values[next++] as Buffer).toString() };
      case 0:
        return { kind: "gone" };
      default:
        return { kind: "refused" };
    }
  });
}

const RUN: RequestAdmission = Object.freeze({ kind: "run" });

/**
 * An answer as kept: its wire frame, as the client got it (earlier versions kept the message
 * object, which reads back as itself).
 */
export function responseOf(kept: Uint8Array): ResponseMessage {
  return asResponse(decodeFrame(kept));
}

/** A decoded kept answer (wire form, or the object earlier versions kept) as a message. */
export function asResponse(value: unknown): ResponseMessage {
  if (!Array.isArray(value)) return value as ResponseMessage;
  const message = decodeServerMessage(value);
  if (message.type !== MessageType.Response && message.type !== MessageType.ErrorResponse)
    throw new Error(`a kept answer is a message of type ${message.type}`);
  return message;
}

/** What the backend keeps of an answer: the frame the client got, or one made now. */
export function keptBytes(response: ResponseMessage, frame: Uint8Array | undefined): Uint8Array {
  return frame ?? encodeFrame(encodeServerMessage(response));
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
