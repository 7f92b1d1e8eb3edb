/** One op of an API: what its requests carry, and what its answers are. */
export interface OpTypes {
  body: unknown;
  answer: unknown;
}

/**
 * An API description that server and client share, as a type: its ops by name and the body of
 * each push topic. `createServer<Api>()` checks handlers and pushes against it, and
 * `createClient<Api>()` infers each request's body and answer and each push's body from it.
 *
 * ```ts
 * interface ChatApi {
 *   ops: { post: { body: { text: string }; answer: { id: number } } };
 *   pushes: { message: { id: number; text: string } };
 * }
 * ```
 */
export interface TetherApi {
  ops: Record<string, OpTypes>;
  pushes: Record<string, unknown>;
}

/** The API when none is given: any op and any topic, with bodies and answers `unknown`. */
export interface UntypedApi extends TetherApi {
  ops: Record<string, { body: unknown; answer: unknown }>;
  pushes: Record<string, unknown>;
}

/** The names of an API's ops. */
export type OpName<Api extends TetherApi> = keyof Api["ops"] & string;
/** What a request of `Op` carries. */
export type BodyOf<Api extends TetherApi, Op extends OpName<Api>> = Api["ops"][Op]["body"];
/** What a request of `Op` is answered with. */
export type AnswerOf<Api extends TetherApi, Op extends OpName<Api>> = Api["ops"][Op]["answer"];
/** The topics an API pushes on. */
export type TopicOf<Api extends TetherApi> = keyof Api["pushes"] & string;
/** A push listener's arguments: each topic with its own body. */
export type PushArgs<Api extends TetherApi> = {
  [Topic in TopicOf<Api>]: [topic: Topic, body: Api["pushes"][Topic]];
}[TopicOf<Api>];
