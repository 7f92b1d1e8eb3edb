/**
 * Cluster mode for Tether: several servers share sessions through Redis (ioredis).
 * @module @tether/cluster-redis
 */
export { type Admission, ClusterSession } from "./cluster-session.js";
export {
  RedisSessionStore,
  type RedisSessionStoreOptions,
  redisSessionStore,
  wallClock,
} from "./redis-session-store.js";
