import { InvalidArgumentError } from "../errors.js";

/** Where a socket transport listens or dials: a host and port, or a Unix socket path. */
export type SocketAddress = { host: string; port: number } | { path: string };

/**
 * `host:port`, `[v6]:port`, or a Unix socket path (anything containing `/`).
 * Port 0 asks the system for a free port when listening.
 */
export function parseSocketAddress(address: string): SocketAddress {
  if (address.includes("/")) return { path: address };
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidArgumentError(`expected host:port, [v6]:port or a socket path, got "${address}"`);
  }
  return { host, port };
}

/** `host:port`, with an IPv6 host in brackets; "unknown" when either part is missing. */
export function formatHostPort(host: string | undefined, port: number | undefined): string {
  if (host === undefined || port === undefined) return "unknown";
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host part of `host:port` or `[v6]:port`; any other address (a name, a path) as it is. */
export function hostOf(address: string): string {
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(address);
  if (bracketed) return bracketed[1] as string;
  const plain = /^([^:]+):\d+$/.exec(address);
  return plain ? (plain[1] as string) : address;
}

let nextUniquePeer = 0;

/**
 * A peer key no other connection has: for transports that cannot tell one peer from another
 * (Unix sockets carry no address), so per-peer limits never lump unrelated clients together.
 */
export function uniquePeerKey(transport: string): string {
  return `${transport}#${nextUniquePeer++}`;
}
