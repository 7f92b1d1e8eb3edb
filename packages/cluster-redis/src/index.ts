export { type Admission, ClusterSession } from "./cluster-session.js";
export {
  RedisSessionStore,
  type RedisSessionStoreOptions,
  redisSessionStore,
  wallClock,
} from "./redis-session-store.js";
