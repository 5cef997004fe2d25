/**
 * NumPy's `.npy` format (version 1.0) for int32, uint16 and float32 arrays: what the PyTorch export
 * writes token ids, offsets and labels in, since `numpy.load` reads it (and memory-maps it) with no
 * other package.
 *
 *   6 bytes   magic "\x93NUMPY", then version 1, 0
 *   2 bytes   header length H, little-endian u16
 *   H bytes   ASCII dict {'descr': '<i4', 'fortran_order': False, 'shape': (N,) or (B, L), }, space-padded, ending
 *             in a newline, so that the data starts at a multiple of 64 bytes ('<u2' uint16, '<f4' float32)
 *   4N bytes  the values, little-endian int32 (2N for uint16)
 *
 * @example
 *   const chunks = npyInt32(Int32Array.of(1, 7, 2)); // numpy.load of their bytes: array([1, 7, 2], dtype=int32)
 */

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * The .npy file of an int32 array of `shape` (default 1-D), row-major, as chunks (the values are a view,
 * not a copy, on little-endian machines).
 */
export function npyInt32(values: Int32Array, shape: readonly number[] = [values.length]): Uint8Array[] {
  return npyArray(values, shape);
}

/** `npyInt32` for an int32, a uint16 ('<u2': token ids) or a float32 ('<f4') array, e.g. sentence vectors [B, C]. */
export function npyArray(
  values: Int32Array | Uint16Array | Float32Array,
  shape: readonly number[] = [values.length],
): Uint8Array[] {
  if (shape.reduce((a, b) => a * b, 1) !== values.length)
    throw new Error(`npy: shape [${shape.join(", ")}] does not hold ${values.length} values`);
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(", ");
  const descr = values instanceof Float32Array ? "<f4" : values instanceof Uint16Array ? "<u2" : "<i4";
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const headerLength = Math.ceil(unpadded / 64) * 64 - (MAGIC.length + 4);
  const head = new Uint8Array(MAGIC.length + 4 + headerLength).fill(0x20);
  head.set(MAGIC, 0);
  head[6] = 1;
  head[7] = 0;
  new DataView(head.buffer).setUint16(8, headerLength, true);
  for (let i = 0; i < dict.length; i++) head[10 + i] = dict.charCodeAt(i);
  head[head.length - 1] = 0x0a;
  const little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
  if (little) return [head, new Uint8Array(values.buffer, values.byteOffset, values.byteLength)];
  const data = new Uint8Array(values.byteLength);
  const view = new DataView(data.buffer);
  values.forEach((v, i) =>
    values instanceof Float32Array
      ? view.setFloat32(4 * i, v, true)
      : values instanceof Uint16Array
        ? view.setUint16(2 * i, v, true)
        : view.setInt32(4 * i, v, true),
  );
  return [head, data];
}
