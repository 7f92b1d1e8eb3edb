type NextTick = (callback: () => void) => void;
const nextTick = (globalThis as { process?: { nextTick?: NextTick } }).process?.nextTick;

/**
 * Collects items through one turn of the event loop and hands them over together: once the
 * promise jobs queued when the first item came (and those they queue) have run, as DataLoader
 * batches. So the requests of a read, and the answers their handlers make, leave as one call.
 */
export class TurnBatch<T> {
  #items: T[] = [];
  readonly #flush: (items: T[]) => void;

  constructor(flush: (items: T[]) => void) {
    this.#flush = flush;
  }

  add(item: T): void {
    if (this.#items.length === 0) afterPromiseJobs(() => this.#hand());
    this.#items.push(item);
  }

  #hand(): void {
    const items = this.#items;
    this.#items = [];
    this.#flush(items);
  }
}

/** Runs `callback` after every promise job, however deep the chain: Node's next tick if there is one. */
function afterPromiseJobs(callback: () => void): void {
  if (nextTick === undefined) queueMicrotask(callback);
  else void Promise.resolve().then(() => nextTick(callback));
}
