import { RequestError, type ServerSession, type TetherServer } from "@tether/core";

export interface KeyEvent {
  key: string;
  /** The new value, or null when the key was deleted. */
  value: unknown;
  owner: string | null;
}

interface Entry {
  value: unknown;
  owner: ServerSession;
}

/**
 * ZooKeeper's ephemeral nodes in a few lines: a key created with `claim` belongs to the
 * session that created it and disappears when that session ends (expiry or close). Sessions
 * that `watch` a key get a `key` push on every change. Ops:
 *   claim {key, value}  → true, or RequestError "owned" if another session holds it
 *   release {key}       → true if it was ours
 *   get {key}           → {value, owner} or null
 *   watch {key}         → the current {value, owner} or null; later changes arrive as pushes
 */
export function installKeyStore(server: TetherServer): { keys: ReadonlyMap<string, Entry> } {
  const keys = new Map<string, Entry>();
  const watchers = new Map<string, Set<ServerSession>>();

  const notify = (key: string) => {
    const entry = keys.get(key);
    const event: KeyEvent = { key, value: entry?.value ?? null, owner: entry?.owner.id ?? null };
    for (const watcher of watchers.get(key) ?? []) if (!watcher.ended) watcher.push("key", event);
  };
  const keyOf = (body: unknown): string => {
    const key = (body as { key?: unknown } | null)?.key;
    if (typeof key !== "string" || key.length === 0)
      throw new RequestError("bad-request", "key must be a string");
    return key;
  };

  server.handle("claim", (body, { session }) => {
    const key = keyOf(body);
    const current = keys.get(key);
    if (current !== undefined && current.owner !== session) {
      throw new RequestError("owned", `${key} is owned by another session`);
    }
    keys.set(key, { value: (body as { value?: unknown }).value ?? null, owner: session });
    notify(key);
    return true;
  });
  server.handle("release", (body, { session }) => {
    const key = keyOf(body);
    if (keys.get(key)?.owner !== session) return false;
    keys.delete(key);
    notify(key);
    return true;
  });
  server.handle("get", (body) => {
    const entry = keys.get(keyOf(body));
    return entry === undefined ? null : { value: entry.value, owner: entry.owner.id };
  });
  server.handle("watch", (body, { session }) => {
    const key = keyOf(body);
    const set = watchers.get(key) ?? new Set();
    watchers.set(key, set);
    set.add(session);
    const entry = keys.get(key);
    return entry === undefined ? null : { value: entry.value, owner: entry.owner.id };
  });

  // The point of sessions: when one ends, what it owned goes, and watchers hear of it.
  server.on("expire", (session) => {
    for (const [key, entry] of keys) {
      if (entry.owner === session) {
        keys.delete(key);
        notify(key);
      }
    }
    for (const set of watchers.values()) set.delete(session);
  });

  return { keys };
}
