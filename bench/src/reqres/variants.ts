/**
 * The contenders of bench/reqres: Tether over TCP and WebSocket, and what people would use
 * instead; tether-tcp-redis is tether-tcp with its sessions in Redis (cluster mode), and
 * tether-tcp-redis-reads the same with the echo registered idempotent (a read: it runs without
 * a round trip to Redis).
 */
export const VARIANTS = [
  "raw-net",
  "tether-tcp",
  "tether-tcp-redis",
  "tether-tcp-redis-reads",
  "raw-ws",
  "tether-ws",
  "socket.io",
] as const;
export type Variant = (typeof VARIANTS)[number];
