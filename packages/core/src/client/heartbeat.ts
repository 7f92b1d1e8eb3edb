/**
 * A client's timing, derived once from the session timeout T and the number of servers n, with
 * the names ZooKeeper's `ClientCnxn` uses (docs/PROTOCOL.md, "Liveness").
 */
export interface Heartbeat {
  /** T: the negotiated session timeout (the requested one until the first Welcome). */
  readonly sessionTimeout: number;
  /** 2T/3 without hearing anything: the connection is dead. */
  readonly readTimeout: number;
  /** T/3 without sending anything: send a Ping. */
  readonly pingInterval: number;
  /** T/n for one whole attempt (dial and handshake), so every server gets its turn within T. */
  readonly connectTimeout: number;
  /** 4T/3 without hearing from any server: the session is presumed expired. */
  readonly expiryTimeout: number;
}

export function heartbeatFor(sessionTimeout: number, servers: number): Heartbeat {
  return {
    sessionTimeout,
    readTimeout: (2 * sessionTimeout) / 3,
    pingInterval: sessionTimeout / 3,
    connectTimeout: sessionTimeout / servers,
    expiryTimeout: (4 * sessionTimeout) / 3,
  };
}
