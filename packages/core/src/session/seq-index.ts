const countOne = (): number => 1;

/** Compact once this many leading slots are free and they are most of the array. */
const COMPACT_AFTER = 1024;

/**
 * The arrays of every empty index (an idle session holds two indexes), swapped for its own at
 * its first `set`: nothing else writes to an empty index's arrays.
 */
const NO_ITEMS: never[] = [];
const NO_SEQS: number[] = [];

/**
 * Items by sequence number, kept in seq order: what a session keeps per request (requests
 * running, answers not yet acknowledged, requests awaiting their answer). Items arrive in
 * about seq order and leave in about seq order, so an add is a push, a lookup a binary search,
 * and a removal clears a slot; the leading free slots are dropped as the oldest items go.
 *
 * Why not a `Map`: one set and one delete per request made V8 rebuild the map's table every
 * few requests, and a table that lives in the old generation is rebuilt there, so a busy
 * session filled the old generation with dead tables. With 16 KiB bodies that kept V8 in
 * incremental marking, each mark-compact holding every buffer allocated during it
 * (`bench/server-gc`, 100,000 requests of 16 KiB: 34-35 mark-compacts with maps, 6-9
 * without; raw net's unpack and pack alone, 1).
 */
export class SeqIndex<T> {
  /** Slots in seq order from `#head`; a removed item leaves `undefined` until compaction. */
  #items: (T | undefined)[] = NO_ITEMS;
  /** The seq of each slot, kept for removed ones too, so the order stays searchable. */
  #seqs: number[] = NO_SEQS;
  #head = 0;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(seq: number): T | undefined {
    const at = this.#find(seq);
    return at < 0 ? undefined : this.#items[at];
  }

  has(seq: number): boolean {
    return this.get(seq) !== undefined;
  }

  /** The item with the lowest seq, if any. */
  first(): T | undefined {
    return this.#items[this.#head];
  }

  /** Adds `item` under `seq`, replacing one with the same seq. */
  set(seq: number, item: T): void {
    if (this.#seqs === NO_SEQS) {
      this.#seqs = [];
      this.#items = [];
    }
    const seqs = this.#seqs;
    const last = seqs.length - 1;
    if (last < this.#head || (seqs[last] as number) < seq) {
      seqs.push(seq);
      this.#items.push(item);
      this.#size++;
      return;
    }
    // Out of order (a request re-sent after a resume, say): rare, so a splice will do.
    const at = this.#lowerBound(seq);
    if (at < seqs.length && seqs[at] === seq) {
      if (this.#items[at] === undefined) this.#size++;
      this.#items[at] = item;
      return;
    }
    seqs.splice(at, 0, seq);
    this.#items.splice(at, 0, item);
    this.#size++;
  }

  /** Removes the item with `seq`; returns it, or undefined if there was none. */
  delete(seq: number): T | undefined {
    const at = this.#find(seq);
    if (at < 0) return undefined;
    const item = this.#items[at];
    if (item === undefined) return undefined;
    this.#items[at] = undefined;
    this.#size--;
    this.#trim();
    return item;
  }

  /** Removes every item with a seq below `seq`; returns their total `weigh` (default: how many). */
  deleteBelow(seq: number, weigh: (item: T) => number = countOne): number {
    const items = this.#items;
    let removed = 0;
    let weight = 0;
    for (let at = this.#head; at < items.length && (this.#seqs[at] as number) < seq; at++) {
      const item = items[at];
      if (item !== undefined) {
        weight += weigh(item);
        items[at] = undefined;
        removed++;
      }
    }
    this.#size -= removed;
    this.#trim();
    return weight;
  }

  /** The items in seq order (a snapshot: safe to change the index while iterating it). */
  values(): T[] {
    const values: T[] = [];
    for (let at = this.#head; at < this.#items.length; at++) {
      const item = this.#items[at];
      if (item !== undefined) values.push(item);
    }
    return values;
  }

  clear(): void {
    this.#items = NO_ITEMS;
    this.#seqs = NO_SEQS;
    this.#head = 0;
    this.#size = 0;
  }

  /** The slot holding `seq` (removed or not), or -1. */
  #find(seq: number): number {
    if (this.#seqs[this.#head] === seq) return this.#head; // the oldest: answers come about in order
    const at = this.#lowerBound(seq);
    return at < this.#seqs.length && this.#seqs[at] === seq ? at : -1;
  }

  /** The first slot from `#head` whose seq is at least `seq`. */
  #lowerBound(seq: number): number {
    const seqs = this.#seqs;
    let low = this.#head;
    let high = seqs.length;
    // A seq above every slot (a new request) is the commonest lookup: no search.
    if (high > low && (seqs[high - 1] as number) < seq) return high;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((seqs[mid] as number) < seq) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /**
   * Skips leading free slots; drops them once they are most of the arrays, and squeezes out
   * free slots behind a long-lived item (one request running while thousands pass it).
   */
  #trim(): void {
    const items = this.#items;
    while (this.#head < items.length && items[this.#head] === undefined) this.#head++;
    if (this.#head === items.length) {
      if (items.length > 0) this.clear();
      return;
    }
    const span = items.length - this.#head;
    if (span > COMPACT_AFTER && span > 2 * this.#size) this.#compact();
    else if (this.#head > COMPACT_AFTER && this.#head * 2 > items.length) {
      this.#items = items.slice(this.#head);
      this.#seqs = this.#seqs.slice(this.#head);
      this.#head = 0;
    }
  }

  #compact(): void {
    const items: T[] = [];
    const seqs: number[] = [];
    for (let at = this.#head; at < this.#items.length; at++) {
      const item = this.#items[at];
      if (item !== undefined) {
        items.push(item);
        seqs.push(this.#seqs[at] as number);
      }
    }
    this.#items = items;
    this.#seqs = seqs;
    this.#head = 0;
  }
}
