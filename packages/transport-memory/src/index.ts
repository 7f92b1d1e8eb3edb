export { MemoryConnection } from "./memory-connection.js";
export {
  createMemoryNetwork,
  MemoryLink,
  MemoryNetwork,
  type MemoryNetworkOptions,
  type MemoryTransportOptions,
} from "./memory-network.js";
