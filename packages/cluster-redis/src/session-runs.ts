/**
 * A batch script's argument: seqs in runs of one session (and runner), as
 * `[...head, n, seq × n, ...head, n, ...]`, so the script reads and writes each session's
 * marks once per run, with one multi-field command. Items keep their order: a run ends where
 * the next item names another session, and the scripts answer item by item in that order.
 */
export class SessionRuns {
  readonly items: (string | number)[] = [];
  #head: readonly string[] = [];
  #countAt = -1;

  add(seq: number, ...head: string[]): void {
    if (this.#countAt < 0 || !sameHead(head, this.#head)) {
      this.items.push(...head, 0);
      this.#head = head;
      this.#countAt = this.items.length - 1;
    }
    this.items.push(seq);
    (this.items[this.#countAt] as number)++;
  }
}

function sameHead(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}
