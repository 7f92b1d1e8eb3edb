/**
 * When a transport lets the answers of one read leave before the read ends. A read this large
 * (bytes of frames) sends its first answers as soon as they add up to `EARLY_FLUSH_BYTES`,
 * the rest when it ends: the peer works on the first while this side makes the rest, instead
 * of each side waiting on the other's whole batch (one client with many requests in flight).
 * Only for small answers: a read that makes an answer of `EARLY_FLUSH_BYTES` or more keeps
 * its one write (large answers gain little, and an extra message of them cost 12% at 16 KiB).
 * One more write per large read at most; the smaller reads of many busy connections keep
 * their one write (BENCHMARKS.md, "Ninth session").
 */
export const EARLY_FLUSH_MIN_READ = 4 * 1024;

/** How many bytes of a large read's first answers leave early (see `EARLY_FLUSH_MIN_READ`). */
export const EARLY_FLUSH_BYTES = 2 * 1024;
