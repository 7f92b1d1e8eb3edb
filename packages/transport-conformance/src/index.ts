/**
 * The conformance suite every Tether transport runs.
 * @module @tether/transport-conformance
 */
export {
  type ConformanceEnv,
  type ConformanceTarget,
  describeTransportConformance,
  type TransportOverrides,
} from "./suite.js";
