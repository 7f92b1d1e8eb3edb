/** ZooKeeper's `dump` layout: each deadline bucket, then its sessions. */
export function formatDump<T>(
  where: string,
  now: number,
  buckets: Map<number, T[]>,
  line: (item: T) => string,
): string {
  const sorted = [...buckets].sort(([a], [b]) => a - b);
  let count = 0;
  for (const [, items] of sorted) count += items.length;
  const lines = [`Session Sets (${sorted.length})/(${count}) ${where}:`];
  for (const [time, items] of sorted) {
    lines.push(`${time} (in ${Math.round(time - now)} ms): ${items.length} sessions`);
    for (const item of items) lines.push(`\t${line(item)}`);
  }
  return lines.join("\n");
}
