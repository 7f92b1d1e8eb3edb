import { ProtocolError } from "../errors.js";

/** Bumped on any incompatible change to the messages below. See docs/PROTOCOL.md. */
export const PROTOCOL_VERSION = 1;

/** The first element of every protocol message. */
export const MessageType = {
  Hello: 1,
  Welcome: 2,
  Ping: 3,
  Pong: 4,
  Request: 5,
  Response: 6,
  ErrorResponse: 7,
  Push: 8,
  Ack: 9,
  CloseSession: 10,
  Goodbye: 11,
  Cancel: 12,
} as const;

/** Why the server ends a connection; sent in a Goodbye message just before it closes. */
export const CloseCode = {
  /** The client closed its session; it is gone. */
  SessionClosed: 4000,
  /** The session expired, or a resume named an unknown session or a wrong password. Final. */
  SessionExpired: 4001,
  /** The `authenticate` hook refused the credentials. Final. */
  AuthFailed: 4002,
  /** A malformed, out-of-order or unexpected message. */
  ProtocolError: 4003,
  /** The Hello named a protocol version this server does not speak. */
  UnsupportedVersion: 4004,
  /** No Hello within the handshake deadline. */
  HandshakeTimeout: 4005,
  /** The session was resumed on another connection; this one is superseded. */
  SessionMoved: 4006,
  /** The server is shutting down: reconnect (elsewhere) and resume. */
  GoingAway: 4007,
  /** The session's unacknowledged pushes or responses outgrew their bound; the session ended. */
  BufferOverflow: 4008,
  // 4009 is unassigned: a slow reader's connection is aborted at once (a Goodbye would wait
  // behind the bytes it is not reading), so no code is ever sent for it.
  /** Too many connections (per address or in total). */
  TooManyConnections: 4010,
  /** A frame over `maxFrameBytes`. */
  FrameTooLarge: 4011,
  /** Too many sessions (per address or in total): no session was opened; retry after backoff. */
  TooManySessions: 4012,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** Error codes in ErrorResponse messages that Tether itself produces. */
export const RequestErrorCode = {
  UnknownOp: "unknown-op",
  HandlerFailed: "handler-failed",
  /**
   * The server running the request died before answering (cluster mode): it may or may not
   * have taken effect. Requests run at most once, so it is not run again.
   */
  ServerLost: "server-lost",
  /** The handler's answer holds a value plain MessagePack cannot carry (a Date, a cycle, ...). */
  UnencodableAnswer: "unencodable-answer",
  /** The handler's answer, encoded, is larger than the client's announced `maxFrameBytes`. */
  AnswerTooLarge: "answer-too-large",
  /** The client cancelled the request (it gave up: an abort or a timeout) while it ran. */
  Cancelled: "cancelled",
  /** The body failed the op's schema (`handle(op, fn, { body: schema })`); the handler did not run. */
  InvalidBody: "invalid-body",
} as const;

/** The longest `op` a Request may name, in UTF-16 code units; a longer one is a protocol error. */
export const MAX_OP_LENGTH = 256;

export interface Hello {
  type: typeof MessageType.Hello;
  version: number;
  timeout: number;
  sessionId: string | null;
  password: Uint8Array | null;
  /** Highest push sequence number the client has (0: none). */
  lastPushSeq: number;
  credentials: unknown;
  /** The largest frame the client takes in; absent from clients before it was added. */
  maxFrameBytes?: number | undefined;
  /**
   * The client asks the server to Ping it when it has been quiet for T/3 (its own timers may
   * be throttled: a hidden browser tab); it answers each with any frame. Absent: false.
   */
  serverPings?: boolean | undefined;
}

export interface Welcome {
  type: typeof MessageType.Welcome;
  sessionId: string;
  password: Uint8Array;
  timeout: number;
  resumed: boolean;
  /** The largest frame the server takes in; absent from servers before it was added. */
  maxFrameBytes?: number | undefined;
  /** The server takes Cancel messages; absent (false) from servers before they were added. */
  cancels?: boolean | undefined;
  /** The server will Ping this session when it is quiet, as its Hello asked. Absent: false. */
  serverPings?: boolean | undefined;
}

/** Acknowledgements piggybacked on client messages. */
interface Acks {
  /** Every push up to this sequence number arrived. */
  pushAck: number;
  /** Every response to a request below this sequence number arrived. */
  responseAck: number;
}

export type ClientMessage =
  | Hello
  | ({ type: typeof MessageType.Ping } & Acks)
  | ({ type: typeof MessageType.Request; seq: number; op: string; body: unknown } & Acks)
  | ({ type: typeof MessageType.Ack } & Acks)
  | { type: typeof MessageType.CloseSession }
  | { type: typeof MessageType.Cancel; seq: number };

export type ServerMessage =
  | Welcome
  | { type: typeof MessageType.Pong }
  | { type: typeof MessageType.Ping }
  | { type: typeof MessageType.Response; seq: number; body: unknown }
  | { type: typeof MessageType.ErrorResponse; seq: number; code: string; message: string }
  | { type: typeof MessageType.Push; seq: number; topic: string; body: unknown }
  | { type: typeof MessageType.Goodbye; code: number; reason: string };

// Wire form: arrays, `[type, ...fields]`, in the order documented in docs/PROTOCOL.md.

export function encodeClientMessage(m: ClientMessage): unknown[] {
  switch (m.type) {
    case MessageType.Hello:
      return [
        m.type,
        m.version,
        m.timeout,
        m.sessionId,
        m.password,
        m.lastPushSeq,
        m.credentials,
        m.maxFrameBytes ?? null,
        m.serverPings ?? false,
      ];
    case MessageType.Ping:
    case MessageType.Ack:
      return [m.type, m.pushAck, m.responseAck];
    case MessageType.Request:
      return [m.type, m.seq, m.op, m.body, m.pushAck, m.responseAck];
    case MessageType.CloseSession:
      return [m.type];
    case MessageType.Cancel:
      return [m.type, m.seq];
  }
}

/** A Response's wire form, for the per-request path (one shape, not the switch below). */
export function responseWire(seq: number, body: unknown): unknown[] {
  return [MessageType.Response, seq, body];
}

export function errorResponseWire(seq: number, code: string, message: string): unknown[] {
  return [MessageType.ErrorResponse, seq, code, message];
}

/** A server message's wire form (docs/PROTOCOL.md), to be encoded with `encodeFrame`. */
export function encodeServerMessage(m: ServerMessage): unknown[] {
  switch (m.type) {
    case MessageType.Welcome:
      return [
        m.type,
        m.sessionId,
        m.password,
        m.timeout,
        m.resumed,
        m.maxFrameBytes ?? null,
        m.cancels ?? false,
        m.serverPings ?? false,
      ];
    case MessageType.Pong:
    case MessageType.Ping:
      return [m.type];
    case MessageType.Response:
      return responseWire(m.seq, m.body);
    case MessageType.ErrorResponse:
      return errorResponseWire(m.seq, m.code, m.message);
    case MessageType.Push:
      return [m.type, m.seq, m.topic, m.body];
    case MessageType.Goodbye:
      return [m.type, m.code, m.reason];
  }
}

const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
const isString = (v: unknown): v is string => typeof v === "string";
const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;

/** An announced frame limit: absent or nil (a peer from before it was added), else a positive integer. */
function frameLimit(value: unknown, message: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0)
    fail(`${message}: maxFrameBytes`);
  return value;
}

function fail(what: string): never {
  throw new ProtocolError(`malformed ${what}`);
}

/** Validates and decodes what a client sent; anything else is a `ProtocolError`. */
export function decodeClientMessage(value: unknown): ClientMessage {
  if (!Array.isArray(value) || value.length === 0) fail("message: expected [type, ...fields]");
  // Indexing, not destructuring: this runs for every frame, and iterators allocate.
  const type = value[0];
  switch (type) {
    case MessageType.Hello: {
      const version = value[1],
        timeout = value[2],
        sessionId = value[3],
        password = value[4],
        lastPushSeq = value[5],
        credentials = value[6],
        maxFrameBytes = frameLimit(value[7], "Hello"),
        serverPings = value[8] === true;
      if (typeof version !== "number") fail("Hello: version");
      if (typeof timeout !== "number" || !Number.isFinite(timeout) || timeout < 0) fail("Hello: timeout");
      if (sessionId !== null && !isString(sessionId)) fail("Hello: sessionId");
      if (password !== null && !isBytes(password)) fail("Hello: password");
      if (!isSeq(lastPushSeq)) fail("Hello: lastPushSeq");
      return {
        type,
        version,
        timeout,
        sessionId,
        password,
        lastPushSeq,
        credentials,
        maxFrameBytes,
        serverPings,
      };
    }
    case MessageType.Ping:
    case MessageType.Ack: {
      const pushAck = value[1],
        responseAck = value[2];
      if (!isSeq(pushAck) || !isSeq(responseAck)) fail("acknowledgement");
      return { type, pushAck, responseAck };
    }
    case MessageType.Request: {
      const seq = value[1],
        op = value[2],
        body = value[3],
        pushAck = value[4],
        responseAck = value[5];
      if (!isSeq(seq) || seq === 0) fail("Request: seq");
      if (!isString(op) || op.length > MAX_OP_LENGTH) fail("Request: op");
      if (!isSeq(pushAck) || !isSeq(responseAck)) fail("Request: acknowledgement");
      return { type, seq, op, body, pushAck, responseAck };
    }
    case MessageType.CloseSession:
      return { type };
    case MessageType.Cancel: {
      const seq = value[1];
      if (!isSeq(seq) || seq === 0) fail("Cancel: seq");
      return { type, seq };
    }
    default:
      fail(`message: unknown type ${describeType(type)}`);
  }
}

/**
 * The type for an error message. A peer's value may be an object whose `toString` is not a
 * function, which String() would throw on.
 */
function describeType(type: unknown): string {
  return typeof type === "number" ? String(type) : typeof type;
}

/** Validates and decodes what a server sent (a frame decoded with `decodeFrame`); throws a `ProtocolError`. */
export function decodeServerMessage(value: unknown): ServerMessage {
  if (!Array.isArray(value) || value.length === 0) fail("message: expected [type, ...fields]");
  // Indexing, not destructuring: this runs for every frame, and iterators allocate.
  const type = value[0];
  switch (type) {
    case MessageType.Welcome: {
      const sessionId = value[1],
        password = value[2],
        timeout = value[3],
        resumed = value[4],
        maxFrameBytes = frameLimit(value[5], "Welcome"),
        cancels = value[6] === true,
        serverPings = value[7] === true;
      if (
        !isString(sessionId) ||
        !isBytes(password) ||
        typeof timeout !== "number" ||
        typeof resumed !== "boolean"
      ) {
        fail("Welcome");
      }
      return { type, sessionId, password, timeout, resumed, maxFrameBytes, cancels, serverPings };
    }
    case MessageType.Pong:
    case MessageType.Ping:
      return { type };
    case MessageType.Response: {
      const seq = value[1],
        body = value[2];
      if (!isSeq(seq)) fail("Response");
      return { type, seq, body };
    }
    case MessageType.ErrorResponse: {
      const seq = value[1],
        code = value[2],
        message = value[3];
      if (!isSeq(seq) || !isString(code) || !isString(message)) fail("ErrorResponse");
      return { type, seq, code, message };
    }
    case MessageType.Push: {
      const seq = value[1],
        topic = value[2],
        body = value[3];
      if (!isSeq(seq) || !isString(topic)) fail("Push");
      return { type, seq, topic, body };
    }
    case MessageType.Goodbye: {
      const code = value[1],
        reason = value[2];
      if (typeof code !== "number" || !isString(reason)) fail("Goodbye");
      return { type, code, reason };
    }
    default:
      fail(`message: unknown type ${describeType(type)}`);
  }
}
