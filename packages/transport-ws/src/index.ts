/**
 * Tether transport over WebSocket: standalone, on an existing http server, or behind a framework's upgrade.
 * @module @tether/transport-ws
 */
export {
  MessageFraming,
  maxPayloadFor,
  WebSocketCloseError,
  WS_CLOSE_ABNORMAL,
  WS_CLOSE_ABORTED,
  WS_CLOSE_GOING_AWAY,
  WS_CLOSE_NORMAL,
  WS_CLOSE_PROTOCOL_ERROR,
  WS_CLOSE_TOO_BIG,
  WS_CLOSE_UNSUPPORTED_DATA,
} from "./message-framing.js";
export { WsConnection } from "./ws-connection.js";
export {
  type AttachOptions,
  attachWebSocket,
  WebSocketAcceptor,
  type WebSocketTransportOptions,
  webSocket,
  webSocketUpgradeHandler,
} from "./ws-transport.js";
