/**
 * Small helpers for writing WebAssembly text (WAT) from TypeScript.
 *
 * The kernels are generated as text so that tile sizes and the choice of fused multiply-add are
 * parameters; `npm run build` assembles the variants the package ships (scripts/build-kernels.js).
 */
import { KERNELS, type KernelName } from "../kernels.js";
import { ARG_F64, ARG_I32 } from "../layout.js";

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

/** at4 of two locals: the address of element $index from the byte pointer in $base. */
export const atLocals = (base: string, index: string): string => at4(get(base), get(index));

/** An f32x4 with four lanes x. */
export const splat = (x: number): string => `(f32x4.splat ${f32(x)})`;

/** for c in [0, c4) step 4: vec; then for c in [c4, C): scalar. */
export function vecTail(c: string, c4: string, C: string, label: string, vec: string, scalar: string): string {
  return `${set(c, i32(0))}
    (block $${label}_ve (loop $${label}_v
      (br_if $${label}_ve (i32.ge_s ${get(c)} ${get(c4)}))
      ${vec}
      ${set(c, `(i32.add ${get(c)} (i32.const 4))`)}
      (br $${label}_v)))
    (block $${label}_se (loop $${label}_s
      (br_if $${label}_se (i32.ge_s ${get(c)} ${get(C)}))
      ${scalar}
      ${set(c, `(i32.add ${get(c)} (i32.const 1))`)}
      (br $${label}_s)))`;
}

/**
 * a * b + c on four f32 lanes: the relaxed fused multiply-add when `fma` is on (one rounding, one
 * instruction on x86 with FMA), else a multiply then an add.
 */
export function madd(a: string, b: string, c: string, fma: boolean): string {
  return fma ? `(f32x4.relaxed_madd ${a} ${b} ${c})` : `(f32x4.add (f32x4.mul ${a} ${b}) ${c})`;
}

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

/** Declares locals: `locals("i32", ["a", "b"])`. */
export function locals(type: string, names: string[]): string {
  return names.map((n) => `(local $${n} ${type})`).join(" ");
}

/**
 * A kernel's function `(func $name (param $tid i32) (param $nth i32))`: its declared arguments
 * (kernels.ts) become locals of the same names, loaded from the control block before `body` runs;
 * `locals` declares the kernel's other locals. Throws when `body` never reads one of the arguments
 * (the backend would be writing a value that nothing uses, or the kernel reads it some other way).
 */
export function kernelFunc(name: KernelName, locals: string, body: string): string {
  const k = KERNELS[name];
  const unread = [...k.i32, ...k.f64].filter((arg) => !body.includes(get(arg)));
  if (unread.length > 0)
    throw new Error(`wasm kernel ${name} ($${k.func}): declared argument(s) ${unread.join(", ")} never read`);
  const decls = [...k.i32.map((arg) => `(local $${arg} i32)`), ...k.f64.map((arg) => `(local $${arg} f64)`)];
  const loads = [
    ...k.i32.map((arg, i) => set(arg, `(i32.load (i32.const ${(ARG_I32 + i) * 4}))`)),
    ...k.f64.map((arg, i) => set(arg, `(f64.load (i32.const ${(ARG_F64 + i) * 8}))`)),
  ];
  return `
(func $${k.func} (param $tid i32) (param $nth i32)
  ${decls.join(" ")}
  ${locals}
  ${loads.join(" ")}
  ${body})`;
}

/**
 * `$part(total, i, n)` = floor(total * i / n) in 64 bits: part i of n of `total` items starts there,
 * so parts 0..n-1 cover [0, total) in order without overlap.
 */
export const PART_FUNC = `
(func $part (param $total i32) (param $i i32) (param $n i32) (result i32)
  (i32.wrap_i64 (i64.div_u (i64.mul (i64.extend_i32_u ${get("total")}) (i64.extend_i32_u ${get("i")})) (i64.extend_i32_u ${get("n")}))))`;

/** Start of part `i` of `n` of `total` items (see `PART_FUNC`). */
export const part = (total: string, i: string, n: string): string => `(call $part ${total} ${i} ${n})`;

/**
 * Sets locals `lo` and `hi` to part `i` of `n` of `total` items: by default thread tid's share among
 * nth threads. Every kernel splits its rows, chunks or pairs this way.
 */
export function share(lo: string, hi: string, total: string, i = get("tid"), n = get("nth")): string {
  return `${set(lo, part(total, i, n))}
  ${set(hi, part(total, `(i32.add ${i} (i32.const 1))`, n))}`;
}

/**
 * `for (v = lo; v < end; v++) body` over part `i` of `n` of `total` items (thread tid's share by
 * default): the per-thread row loop of the kernels. `end` is a local that receives the share's end.
 */
export function shareLoop(
  v: string,
  end: string,
  total: string,
  body: string,
  label: string,
  i = get("tid"),
  n = get("nth"),
): string {
  return `${set(end, part(total, `(i32.add ${i} (i32.const 1))`, n))}
  ${forLoop(v, part(total, i, n), get(end), 1, body, label)}`;
}

/**
 * Part `i` of `n` of [0, total) for vector loops: `lo` and `hi` rounded down to multiples of 4
 * (the last part ends at total), and `hi4` (when given) = lo plus the whole vectors of 4 that fit
 * before hi.
 */
export function vectorShare(lo: string, hi: string, hi4: string | null, total: string, i: string, n: string): string {
  const end = `(i32.and ${part(total, `(i32.add ${i} (i32.const 1))`, n)} (i32.const -4))`;
  return `${set(lo, `(i32.and ${part(total, i, n)} (i32.const -4))`)}
  ${set(hi, `(if (result i32) (i32.eq (i32.add ${i} (i32.const 1)) ${n}) (then ${total}) (else ${end}))`)}
  ${hi4 === null ? "" : set(hi4, `(i32.add ${get(lo)} (i32.and (i32.sub ${get(hi)} ${get(lo)}) (i32.const -4)))`)}`;
}
