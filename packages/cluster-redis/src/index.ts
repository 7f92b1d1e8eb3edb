/**
 * Cluster mode for Tether: several servers share sessions through Redis (ioredis).
 * @module @tether/cluster-redis
 */
export {
  REDIS_CLUSTER_PARTITIONS,
  type RedisClusterConnection,
  type RedisConnection,
  RedisSessionBackend,
} from "./redis-session-backend.js";
export {
  RedisSessionStore,
  type RedisSessionStoreOptions,
  redisSessionStore,
  wallClock,
} from "./redis-session-store.js";
