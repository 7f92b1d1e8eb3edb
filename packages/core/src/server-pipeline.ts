/**
 * The names of the server pipeline's handlers, in order from the connection up. Add your own
 * handlers relative to them (`configurePipeline`): frame-level ones before `codec`, message-level
 * ones between `codec` and `session`, request-level ones between `session` and `dispatch`
 * (they see each `IncomingRequest` go up and each `OutgoingReply` come back down).
 */
export const ServerPipeline = {
  /** Counts frames and bytes each way. */
  traffic: "traffic",
  /** Frames ⇄ plain MessagePack values. */
  codec: "codec",
  /** The session protocol: handshake, pings, acknowledgements; requests up, replies down. */
  session: "session",
  /** Runs the `server.handle()` registrations; writes each reply down the pipeline. */
  dispatch: "dispatch",
} as const;
