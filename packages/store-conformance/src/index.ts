export { describeStoreConformance, type StoreConformanceEnv, type StoreConformanceTarget } from "./suite.js";
