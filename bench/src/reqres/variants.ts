/** The contenders of bench/reqres: Tether over TCP and WebSocket, and what people would use instead. */
export const VARIANTS = ["raw-net", "tether-tcp", "raw-ws", "tether-ws", "socket.io"] as const;
export type Variant = (typeof VARIANTS)[number];
