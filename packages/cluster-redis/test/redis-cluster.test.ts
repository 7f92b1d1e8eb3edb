import { describeClusterSuite } from "./cluster-suite.js";

// The same suite on a Redis Cluster of three masters (redis-server processes on 127.0.0.1).
describeClusterSuite("redis-cluster");
