import { InvalidArgumentError } from "@tether/core";

export type SocketAddress = { host: string; port: number } | { path: string };

/**
 * `host:port`, `[v6]:port`, or a Unix socket path (anything containing `/`).
 * Port 0 asks the system for a free port when listening.
 */
export function parseAddress(address: string): SocketAddress {
  if (address.includes("/")) return { path: address };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`expected host:port, [v6]:port or a socket path, got "${address}"`);
  }
  return { host, port };
}

export function formatAddress(host: string | undefined, port: number | undefined): string {
  if (host === undefined || port === undefined) return "unknown";
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
