/**
 * The contenders of bench/reqres: Tether over TCP and WebSocket, and what people would use
 * instead; tether-tcp-redis is tether-tcp with its sessions in Redis (cluster mode).
 */
export const VARIANTS = [
  "raw-net",
  "tether-tcp",
  "tether-tcp-redis",
  "raw-ws",
  "tether-ws",
  "socket.io",
] as const;
export type Variant = (typeof VARIANTS)[number];
