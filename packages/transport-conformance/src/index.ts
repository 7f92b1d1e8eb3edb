export {
  type ConformanceEnv,
  type ConformanceTarget,
  describeTransportConformance,
  type TransportOverrides,
} from "./suite.js";
