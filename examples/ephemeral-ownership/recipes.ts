import { RequestError, type TetherClient } from "@tether/core";
import type { KeyEvent } from "./key-store.js";

/**
 * A lock on top of session-owned keys: `claim` is a try-lock, and the key vanishes if the
 * holder's session dies, so a crashed holder never blocks the others for longer than its
 * session timeout. Waiters watch the key and try again when it is freed.
 */
export async function acquireLock(
  client: TetherClient,
  key: string,
  value: unknown = null,
): Promise<() => Promise<void>> {
  for (;;) {
    const freed = nextFree(client, key);
    await client.request("watch", { key });
    try {
      await client.request("claim", { key, value });
      freed.cancel();
      return async () => {
        await client.request("release", { key });
      };
    } catch (error) {
      if (!(error instanceof RequestError && error.code === "owned")) {
        freed.cancel();
        throw error;
      }
    }
    await freed.promise;
  }
}

/**
 * Leader election: whoever holds `key` leads. `onElected` runs when this client becomes leader;
 * leadership ends only with the session (or `resign()`).
 */
export async function runForLeader(client: TetherClient, key: string, me: string, onElected: () => void) {
  const resign = await acquireLock(client, key, me);
  onElected();
  return resign;
}

/** Resolves the next time `key` is seen free (a `key` push with no owner). */
function nextFree(client: TetherClient, key: string): { promise: Promise<void>; cancel: () => void } {
  let listener: ((topic: string, body: unknown) => void) | undefined;
  const promise = new Promise<void>((resolve) => {
    listener = (topic, body) => {
      const event = body as KeyEvent;
      if (topic === "key" && event.key === key && event.owner === null) resolve();
    };
    client.on("push", listener);
  }).finally(() => {
    if (listener) client.off("push", listener);
  });
  return {
    promise,
    cancel: () => {
      if (listener) client.off("push", listener);
    },
  };
}
