/**
 * Tether in-process transport with fault injection: black-holes, partitions, latency, drops, resets.
 * @module @tether/transport-memory
 */
export { MemoryConnection } from "./memory-connection.js";
export {
  createMemoryNetwork,
  MemoryLink,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransportOptions,
} from "./memory-network.js";
