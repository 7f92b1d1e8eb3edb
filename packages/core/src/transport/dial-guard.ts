import { type Clock, systemClock } from "../clock.js";
import { AbortError, TimeoutError } from "../errors.js";
import type { Connection, DialOptions } from "./connection.js";

/**
 * Applies a dial's `AbortSignal` and `connectTimeout` to a transport's connect attempt.
 * `cancel` must stop the attempt; a connection that still arrives after the dial was given up
 * is aborted, so nothing leaks.
 */
export function guardDial<C extends Connection>(
  attempt: Promise<C>,
  cancel: () => void,
  options: DialOptions = {},
  clock: Clock = systemClock,
): Promise<C> {
  const { signal, connectTimeout } = options;
  return new Promise<C>((resolve, reject) => {
    let settled = false;
    const giveUp = (error: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      cancel();
      reject(error);
    };
    const onAbort = () => giveUp(new AbortError("dial aborted", { cause: signal?.reason }));
    const timer =
      connectTimeout === undefined
        ? undefined
        : clock.setTimeout(
            () => giveUp(new TimeoutError(`connect timed out after ${connectTimeout} ms`)),
            connectTimeout,
          );
    const cleanup = () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    attempt.then(
      (connection) => {
        if (settled) {
          connection.abort();
          return;
        }
        settled = true;
        cleanup();
        resolve(connection);
      },
      (error: unknown) => giveUp(error instanceof Error ? error : new Error(String(error))),
    );
    // After the attempt is observed, so its rejection on cancel is never unhandled.
    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
