/**
 * A batch script's argument: requests (or answers) in runs of one session, as
 * `[id, n, seq × n, ...]` (for answers `[id, runner, n, seq × n, ...]`; each seq as decimal
 * text, which the scripts pass to Redis as is: scripts.ts says why), so the script reads
 * and writes each session's hashes once per run, with one multi-field command. Items keep
 * their order: a run ends where the next item names another session (or runner), and the
 * scripts answer item by item in that order.
 */
export class SessionRuns {
  readonly items: (string | number)[] = [];
  #id: string | undefined;
  #runner: string | undefined;
  #countAt = -1;

  /** A request's seq, in session `id`'s run. */
  addRequest(id: string, seq: number): void {
    this.#run(id, undefined);
    this.items.push(String(seq));
  }

  /** An answer's seq, in the run of session `id` and `runner`. */
  addAnswer(id: string, runner: string, seq: number): void {
    this.#run(id, runner);
    this.items.push(String(seq));
  }

  #run(id: string, runner: string | undefined): void {
    if (this.#countAt < 0 || id !== this.#id || runner !== this.#runner) {
      if (runner === undefined) this.items.push(id, 0);
      else this.items.push(id, runner, 0);
      this.#id = id;
      this.#runner = runner;
      this.#countAt = this.items.length - 1;
    }
    (this.items[this.#countAt] as number)++;
  }
}
