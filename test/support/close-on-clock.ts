import type { ManualClock } from "@tether/core";

/**
 * Closes `things` (clients, servers, listeners) while advancing `clock` a second at a time, up
 * to 30 s of it: their graceful closes wait on its timers.
 */
export async function closeOnClock(clock: ManualClock, ...things: Array<{ close(): Promise<unknown> }>) {
  let done = false;
  const closing = Promise.all(things.map((thing) => thing.close())).finally(() => {
    done = true;
  });
  for (let i = 0; i < 30 && !done; i++) await clock.advanceAsync(1000);
  await closing;
}
