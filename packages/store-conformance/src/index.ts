/**
 * The conformance suite every Tether session store runs, and the fault wrapper it spoils a
 * shared backend's replies with.
 * @module @tether/store-conformance
 */
export { FaultyBackend, LostReplyError } from "./faulty-backend.js";
export { describeStoreConformance, type StoreConformanceEnv, type StoreConformanceTarget } from "./suite.js";
