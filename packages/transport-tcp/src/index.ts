export { TcpConnection } from "./tcp-connection.js";
export { type TcpTransportOptions, type TlsTransportOptions, tcp, tls } from "./tcp-transport.js";
