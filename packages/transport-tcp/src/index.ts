/**
 * Tether transport over TCP and TLS: length-prefixed frames on node:net and node:tls.
 * @module @tether/transport-tcp
 */
export { TcpConnection } from "./tcp-connection.js";
export { type TcpTransportOptions, type TlsTransportOptions, tcp, tls } from "./tcp-transport.js";
