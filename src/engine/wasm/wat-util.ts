/**
 * Small helpers for writing WebAssembly text (WAT) from TypeScript.
 *
 * The kernels are generated as text and assembled at start-up with `wabt`, so that tile sizes and
 * the choice of fused multiply-add can be decided by measurement and by what the runtime supports.
 */

/** `(local.get $name)` */
export const get = (name: string): string => `(local.get $${name})`;
/** `(local.set $name value)` */
export const set = (name: string, value: string): string => `(local.set $${name} ${value})`;
/** An i32 constant. */
export const i32 = (n: number): string => `(i32.const ${n | 0})`;
/** A float literal as WAT spells it (inf, -inf, nan). */
export const num = (n: number): string =>
  Number.isNaN(n) ? "nan" : n === Infinity ? "inf" : n === -Infinity ? "-inf" : String(n);
/** An f32 constant. */
export const f32 = (n: number): string => `(f32.const ${num(n)})`;
/** `a + b` in i32. */
export const add = (a: string, b: string): string => `(i32.add ${a} ${b})`;
/** `a * b` in i32. */
export const mul = (a: string, b: string): string => `(i32.mul ${a} ${b})`;

/** Byte address of element `index` (elements of 4 bytes) from byte pointer `base`. */
export const at4 = (base: string, index: string): string => `(i32.add ${base} (i32.shl ${index} (i32.const 2)))`;

/**
 * a * b + c on four f32 lanes: the relaxed fused multiply-add when `fma` is on (one rounding, one
 * instruction on x86 with FMA), else a multiply then an add.
 */
export function madd(a: string, b: string, c: string, fma: boolean): string {
  return fma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
}

/** Reads the i32 job argument `i` from the control block (see `layout.ts`). */
export const argI = (i: number): string => `(i32.load (i32.const ${64 + 4 * i}))`;
/** Reads the f64 job argument `i` from the control block. */
export const argF = (i: number): string => `(f64.load (i32.const ${256 + 8 * i}))`;

/**
 * `for (v = from; v < to; v += step) body` as WAT; `label` must be unique within the function.
 */
export function forLoop(
  v: string,
  from: string,
  to: string,
  step: number | string,
  body: string,
  label: string,
): string {
  const inc = typeof step === "number" ? i32(step) : step;
  return `${set(v, from)}
(block $${label}_end (loop $${label}
  (br_if $${label}_end (i32.ge_s ${get(v)} ${to}))
  ${body}
  ${set(v, `(i32.add ${get(v)} ${inc})`)}
  (br $${label})))`;
}

/** Declares locals: `locals('i32', ['a', 'b'])`. */
export function locals(type: string, names: string[]): string {
  return names.map((n) => `(local $${n} ${type})`).join(" ");
}
