import { describeRedisConformance } from "./redis-conformance.js";

// The same conformance suite on a Redis Cluster of three masters (redis-server processes on 127.0.0.1).
describeRedisConformance("redis-cluster");
