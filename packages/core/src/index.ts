/**
 * Tether core: clock, expiry queue, session tracker, channel pipeline and session protocol.
 * @module @tether/core
 */
export type {
  AnswerOf,
  BodyOf,
  OpName,
  OpTypes,
  PushArgs,
  TetherApi,
  TopicOf,
  UntypedApi,
} from "./api.js";
export {
  Channel,
  type ChannelEvents,
  type ChannelHandler,
  type ChannelOptions,
  checkPlainMessagePack,
  DEFAULT_MAX_NESTING,
  decodeFrame,
  EmbeddedChannel,
  encodeFrame,
  HandlerContext,
  type IdleState,
  type IdleStateEvent,
  IdleStateHandler,
  type IdleStateOptions,
  INBOUND_PROGRESS,
  isIdleStateEvent,
  LoggingHandler,
  MessagePackCodec,
  Pipeline,
  WRITABLE,
} from "./channel/index.js";
export { TrafficCounter, type TrafficCounts } from "./channel/traffic-counter.js";
export type { ClientMetrics } from "./client/client-metrics.js";
export {
  type ClientEvents,
  type ClientOptions,
  type ClientState,
  type ConnectedOptions,
  createClient,
  type RequestArgs,
  type RequestOptions,
  type ServerAddress,
  type StateCause,
  TetherClient,
} from "./client/tether-client.js";
export {
  type Clock,
  HOP_SLACK_MS,
  type OnTimeOptions,
  runWhenOnTime,
  systemClock,
  type TimerHandle,
} from "./clock.js";
export { copyBytes } from "./copy-bytes.js";
export {
  AbortError,
  AuthenticationError,
  CancelledError,
  ConfigurationError,
  ConnectionClosedError,
  ConnectionEndedError,
  ConnectionResetError,
  DialError,
  FrameTooLargeError,
  InvalidArgumentError,
  ProtocolError,
  RequestError,
  SessionExpiredError,
  SessionMovedError,
  TetherError,
  TimeoutError,
  TooManySessionsError,
  TransportError,
  UnencodableValueError,
} from "./errors.js";
export { LATENCY_BUCKETS_MS, type LatencyHistogram, LatencyRecorder } from "./latency-recorder.js";
export { type Logger, silentLogger, stderrLogger } from "./logger.js";
export { ManualClock } from "./manual-clock.js";
export {
  type CloseOptions,
  type ConnectionInfo,
  createServer,
  type ServerEvents,
  type ServerOptions,
  TetherServer,
} from "./server.js";
export {
  SERVER_COUNTER_NAMES,
  SERVER_COUNTERS,
  type ServerCounter,
  type ServerCounters,
  type ServerMetrics,
} from "./server-metrics.js";
export { ServerPipeline } from "./server-pipeline.js";
export { type BackoffOptions, backoffDelay } from "./session/backoff.js";
export { ExpiryQueue, type SlottedElement } from "./session/expiry-queue.js";
export { IncomingRequest } from "./session/incoming-request.js";
export { MemorySessionBackend } from "./session/memory-session-backend.js";
export { MemorySessionStore, memorySessionStore } from "./session/memory-session-store.js";
export { OutgoingReply } from "./session/outgoing-reply.js";
export {
  CloseCode,
  decodeServerMessage,
  encodeServerMessage,
  MAX_OP_LENGTH,
  MessageType,
  PROTOCOL_VERSION,
  RequestErrorCode,
} from "./session/protocol.js";
export type { HandleOptions, RequestContext, RequestHandler } from "./session/request-dispatcher.js";
export {
  type PushMessage,
  type ResponseMessage,
  ServerSession,
  type ServerSessionEndReason,
  type ServerSessionEvents,
  type SessionBounds,
  type SessionHost,
  type SessionLink,
} from "./session/server-session.js";
export type {
  AnswerToKeep,
  BackendListener,
  BackendMessage,
  ClaimedSession,
  ClaimLease,
  KeptAnswer,
  NewSessionRecord,
  RequestAdmission,
  RequestRef,
  ResumedSession,
  SessionBackend,
  SessionSnapshot,
} from "./session/session-backend.js";
export { formatDump } from "./session/session-dump.js";
export type {
  SessionStore,
  SessionStoreContext,
  SessionStoreEvents,
  SessionStoreFactory,
} from "./session/session-store.js";
export { negotiateTimeout, type SessionTimeouts, sessionTimeouts } from "./session/session-timeouts.js";
export {
  SESSION_PASSWORD_BYTES,
  type SessionEndReason,
  type SessionState,
  SessionTracker,
  type SessionTrackerEvents,
  type SessionTrackerOptions,
  type TrackedSession,
} from "./session/session-tracker.js";
export { SharedSessionStore, type SharedSessionStoreOptions } from "./session/shared-session-store.js";
export type { StandardSchemaIssue, StandardSchemaResult, StandardSchemaV1 } from "./standard-schema.js";
export {
  formatHostPort,
  hostOf,
  parseSocketAddress,
  type SocketAddress,
  uniquePeerKey,
} from "./transport/address.js";
export {
  type Admission,
  type CloseInfo,
  type Connection,
  ConnectionBase,
  type ConnectionEvents,
  type ConnectionOptions,
  type ConnectionReader,
  type ConnectionStatus,
  DEFAULT_CLOSE_TIMEOUT,
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_HIGH_WATER_MARK,
  DEFAULT_MAX_FRAME_BYTES,
  type DialOptions,
  type Listener,
  type ListenOptions,
  type Transport,
} from "./transport/connection.js";
export { guardDial } from "./transport/dial-guard.js";
export { EARLY_FLUSH_BYTES, EARLY_FLUSH_MIN_READ } from "./transport/early-flush.js";
export { FramePool, writeBufferPool } from "./transport/frame-pool.js";
export {
  encodeLengthPrefixed,
  type FrameSink,
  LENGTH_PREFIX_BYTES,
  LengthPrefixDecoder,
  lengthPrefix,
} from "./transport/length-prefix.js";
