import { describeRedisConformance } from "./redis-conformance.js";

describeRedisConformance("redis");
