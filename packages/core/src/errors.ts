/**
 * Every error Tether raises on purpose is a `TetherError`. Callers branch on the class
 * (`instanceof SessionExpiredError`), never on message text. Each class sets `name`, and
 * wrapping errors pass the original as ES2022 `cause`.
 */
export class TetherError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A caller passed a value outside the documented domain (a bad interval, a negative timeout). */
export class InvalidArgumentError extends TetherError {}

/** Options that contradict each other, such as `minSessionTimeout > maxSessionTimeout`. */
export class ConfigurationError extends TetherError {}

/** The operation was cancelled through an `AbortSignal`. */
export class AbortError extends TetherError {}

/** The client gave up the request (an abort or a timeout) and told the server: a handler's `signal` reason. */
export class CancelledError extends TetherError {}

/** A deadline the caller or the protocol set has passed. */
export class TimeoutError extends TetherError {}

/** The session no longer exists on the server: it expired, was closed, or was never known. */
export class SessionExpiredError extends TetherError {}

/** A transport failed to move bytes: the base of dial and connection errors. */
export class TransportError extends TetherError {}

/** A dial failed: refused, unreachable, or the address is malformed. */
export class DialError extends TransportError {}

/**
 * The peer's end went away without closing: a TCP reset, a WebSocket that ended with no close
 * frame (1006), a memory link reset. Every transport reports a reset as this error.
 */
export class ConnectionResetError extends TransportError {}

/** An operation needed an open connection, and it is closing or closed. */
export class ConnectionClosedError extends TransportError {}

/** The peer broke the protocol: malformed, out-of-order or oversized input. */
export class ProtocolError extends TetherError {}

/** A frame longer than `maxFrameBytes`, refused on its length header before its body is read. */
export class FrameTooLargeError extends ProtocolError {
  constructor(
    readonly length: number,
    readonly maxFrameBytes: number,
  ) {
    super(`frame of ${length} bytes exceeds maxFrameBytes (${maxFrameBytes})`);
  }
}

/**
 * A value that plain MessagePack cannot carry (a Date, a Set, a BigInt beyond 64 bits, a
 * cycle, ...): see docs/PROTOCOL.md, "Encoding". Thrown where it is sent, never on the wire.
 */
export class UnencodableValueError extends TetherError {}

/** A request failed on the server: a handler refused it or threw. `code` says why. */
export class RequestError extends TetherError {
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The server holds as many sessions as it allows (in all, or from one address): none was opened. */
export class TooManySessionsError extends TetherError {}

/**
 * A resume was overtaken: the session was resumed on another server while this one loaded it.
 * The connection gets Goodbye 4006 and the client resumes again, wherever it lands.
 */
export class SessionMovedError extends TetherError {}

/** The server's `authenticate` hook refused the client's credentials. Final. */
export class AuthenticationError extends TetherError {}

/** The server ended the connection with a close code (see `CloseCode`). */
export class ConnectionEndedError extends TransportError {
  constructor(
    readonly code: number,
    reason: string,
  ) {
    super(`server closed the connection with ${code}: ${reason}`);
  }
}
