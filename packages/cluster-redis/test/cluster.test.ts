import { describeClusterSuite } from "./cluster-suite.js";

describeClusterSuite("redis");
