/**
 * The conformance suite every Tether session store runs.
 * @module @tether/store-conformance
 */
export { describeStoreConformance, type StoreConformanceEnv, type StoreConformanceTarget } from "./suite.js";
