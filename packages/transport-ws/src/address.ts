/** `host:port`, with an IPv6 host in brackets; "unknown" when either part is missing. */
export function hostPort(address: string | undefined, port: number | undefined): string {
  if (address === undefined || port === undefined) return "unknown";
  return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
}
