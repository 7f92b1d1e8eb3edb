/**
 * A copy of `bytes` in memory of its own. `bytes.slice()` is no such thing when `bytes` is a
 * Node `Buffer` (the encoders and sockets hand out Buffers): `Buffer#slice` is a view.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return Uint8Array.prototype.slice.call(bytes);
}
