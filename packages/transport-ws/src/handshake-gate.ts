import type { Socket } from "node:net";
import type { Admission, Clock, TimerHandle } from "@tether/core";
import { wsPeerKey } from "./ws-connection.js";

interface Tracked {
  acceptedAt: number;
  /** Until the socket passes: the admission's release and the deadline. */
  release: (() => void) | undefined;
  deadline: TimerHandle | undefined;
}

type Peer = { remoteAddress?: string | undefined; remotePort?: number | undefined };

/**
 * Applies a server's admission (its connection limits and handshake deadline) to sockets from
 * their TCP accept until they pass a handshake: the TLS handshake on an https server, or the
 * whole WebSocket upgrade on a listener that serves nothing else. A socket that does not pass
 * in time is destroyed; one over a limit is destroyed at once. Sockets are known by their
 * remote address and port, which a TLS socket shares with the TCP socket under it.
 */
export class HandshakeGate {
  readonly #sockets = new Map<string, Tracked>();

  constructor(
    private readonly admission: Admission | undefined,
    private readonly handshakeTimeout: number,
    private readonly clock: Clock,
  ) {}

  /** A raw TCP socket was accepted (the server's `connection` event). */
  readonly accepted = (socket: Socket): void => {
    socket.on("error", () => {});
    const release = this.admission === undefined ? () => {} : this.admission.admit(wsPeerKey(socket));
    if (release === undefined) {
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    const deadline = this.clock.setTimeout(() => socket.destroy(), this.handshakeTimeout);
    this.#sockets.set(key, { acceptedAt: this.clock.now(), release, deadline });
    socket.once("close", () => {
      this.passed(socket);
      this.#sockets.delete(key);
    });
  };

  /** The socket, or the TLS socket over it, passed its handshake: the deadline and the count end. */
  readonly passed = (socket: Peer): void => {
    const tracked = this.#sockets.get(keyOf(socket));
    if (tracked?.release === undefined) return;
    if (tracked.deadline !== undefined) this.clock.clearTimeout(tracked.deadline);
    tracked.release();
    tracked.release = undefined;
    tracked.deadline = undefined;
  };

  /** Milliseconds since the socket's TCP accept (0 if it was not seen). */
  elapsed(socket: Peer): number {
    const tracked = this.#sockets.get(keyOf(socket));
    return tracked === undefined ? 0 : this.clock.now() - tracked.acceptedAt;
  }
}

function keyOf(socket: Peer): string {
  return `${socket.remoteAddress}|${socket.remotePort}`;
}
