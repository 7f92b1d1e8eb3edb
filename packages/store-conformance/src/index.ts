/**
 * The conformance suite every Tether session store runs, the contract of a shared backend's
 * request primitives, and the fault wrapper the suite spoils a shared backend's replies with.
 * @module @tether/store-conformance
 */
export { FaultyBackend, LostReplyError } from "./faulty-backend.js";
export { describeRequestContract, type RequestContractTarget } from "./request-contract.js";
export { describeStoreConformance, type StoreConformanceEnv, type StoreConformanceTarget } from "./suite.js";
