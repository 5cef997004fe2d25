// The argument layouts of the WebAssembly kernels (src/engine/wasm/kernels.ts) hold both sides to
// one declaration: every generator reads every argument it declares, the backend's job writes each
// argument at the very address the generated code loads it from, a job started with an argument left
// out throws, and the module dispatches every declared kernel. Also: backends name their kernels
// without the thread count, with the strings earlier versions saved in train_state.json.
import { test } from "node:test";
import assert from "node:assert/strict";
import { TsBackend } from "../../src/engine/ts-backend.js";
import { createJobs } from "../../src/engine/wasm/job-args.js";
import { checkKernels, KERNEL_LIST, type KernelDecl } from "../../src/engine/wasm/kernels.js";
import { createWasmBackend } from "../../src/engine/wasm/wasm-backend.js";
import { DEFAULT_GEMM } from "../../src/engine/wasm/tiles.js";
import { moduleWat } from "../../src/engine/wasm/wat/module.js";
import { get, kernelFunc } from "../../src/engine/wasm/wat/util.js";

/** Byte address and type of every argument load in a kernel function's text, by local name. */
function loadsOf(wat: string): Map<string, { type: "i32" | "f64"; at: number }> {
  const loads = new Map<string, { type: "i32" | "f64"; at: number }>();
  for (const m of wat.matchAll(/\(local\.set \$(\w+) \((i32|f64)\.load \(i32\.const (\d+)\)\)\)/g)) {
    const [, name, type, at] = m;
    assert.ok(name !== undefined && at !== undefined && (type === "i32" || type === "f64"));
    assert.ok(!loads.has(name), `${name} is loaded twice`);
    loads.set(name, { type, at: Number(at) });
  }
  return loads;
}

/** The text of `(func $name ...` up to the next function of the module. */
function funcText(wat: string, func: string): string {
  const start = wat.indexOf(`(func $${func} (param $tid i32) (param $nth i32)`);
  assert.ok(start >= 0, `$${func} is missing from the module`);
  assert.equal(wat.indexOf(`(func $${func} `, start + 1), -1, `$${func} is defined twice`);
  const next = wat.indexOf("(func ", start + 1);
  return wat.slice(start, next < 0 ? undefined : next);
}

test("the module has every declared kernel, dispatched by its opcode, for every configuration", () => {
  for (const fma of [true, false]) {
    for (const gemm of [DEFAULT_GEMM, { mr: 4, nv: 3, kc: 128, nc: 96, unroll: 1 }]) {
      const wat = moduleWat(gemm, fma);
      for (const k of KERNEL_LIST) {
        funcText(wat, k.func);
        assert.ok(
          wat.includes(`(i32.const ${k.op})) (then (call $${k.func} (local.get $tid) (local.get $nth))`),
          `opcode ${k.op} does not run $${k.func}`,
        );
      }
    }
  }
});

test("every kernel loads exactly its declared arguments, each from its own slot, and reads them all", () => {
  const wat = moduleWat(DEFAULT_GEMM, true);
  for (const k of KERNEL_LIST) {
    const loads = loadsOf(funcText(wat, k.func));
    assert.deepEqual([...loads.keys()], [...k.i32, ...k.f64], `${k.name}: loads in declaration order`);
    for (const [name, { type }] of loads) {
      assert.equal(type, k.i32.includes(name) ? "i32" : "f64", `${k.name}.${name}`);
    }
    const at = [...loads.values()].map((l) => `${l.type}@${l.at}`);
    assert.equal(new Set(at).size, at.length, `${k.name}: two arguments share a slot`);
  }
});

test("a generator that leaves a declared argument unread is refused when the module is built", () => {
  const readsAll = `(drop ${get("x")}) (drop ${get("n")}) (drop ${get("chunks")})`;
  assert.doesNotThrow(() => kernelFunc("sumSquares", "", readsAll));
  assert.throws(
    () => kernelFunc("sumSquares", "", `(drop ${get("x")}) (drop ${get("n")})`),
    /sumSquares \(\$sumsq\): declared argument\(s\) chunks never read/,
  );
});

test("the backend's jobs write every argument where the generated code loads it from", () => {
  const wat = moduleWat(DEFAULT_GEMM, false);
  const buffer = new ArrayBuffer(4096);
  const jobs = createJobs(buffer);
  const view = new DataView(buffer);
  for (const k of KERNEL_LIST) {
    const job = jobs[k.name];
    assert.equal(job.op, k.op);
    const args = job.args as Record<string, number>;
    const names = [...k.i32, ...k.f64];
    // distinct values per argument, so that a write into another argument's slot shows
    names.forEach((name, i) => (args[name] = k.i32.includes(name) ? 1000 + i : i + 0.25));
    for (const [name, { type, at }] of loadsOf(funcText(wat, k.func))) {
      const stored = type === "i32" ? view.getInt32(at, true) : view.getFloat64(at, true);
      assert.equal(stored, args[name], `${k.name}.${name}: written at another address than $${k.func} reads`);
    }
    job.take();
  }
});

test("a job started with an argument left out throws and names it; a job has no other setters", () => {
  const jobs = createJobs(new ArrayBuffer(4096));
  for (const k of KERNEL_LIST) {
    const job = jobs[k.name];
    const args = job.args as Record<string, number>;
    const names = [...k.i32, ...k.f64];
    for (const left of names) {
      for (const name of names) if (name !== left) args[name] = 1;
      assert.throws(() => job.take(), new RegExp(`kernel ${k.name} started without its argument\\(s\\) ${left}$`));
    }
    for (const name of names) args[name] = 1;
    job.take();
    // each job starts over: the arguments of the previous job do not count for the next
    if (names.length > 0) assert.throws(() => job.take(), /started without/);
    assert.deepEqual(Object.keys(args).sort(), [...names].sort());
  }
});

test("the declaration rules are checked: opcodes, functions and argument names", () => {
  const ok: KernelDecl & { name: string } = { name: "a", op: 1, func: "fa", i32: ["x"], f64: ["s"] };
  assert.doesNotThrow(() => checkKernels([ok]));
  const cases: [Partial<KernelDecl>, RegExp][] = [
    [{ func: "fb", op: 1 }, /opcode 1 is also a's/],
    [{ op: 2, func: "fa" }, /function \$fa is also a's/],
    [{ op: 2, func: "fb", i32: ["x", "x"] }, /"x" is declared twice/],
    [{ op: 2, func: "fb", i32: ["y"], f64: ["y"] }, /"y" is declared twice/],
    [{ op: 2, func: "fb", i32: ["1y"] }, /"1y" is not a valid local name/],
    [{ op: 2, func: "fb", i32: Array.from({ length: 49 }, (_, i) => `a${i}`) }, /49 int32 arguments, at most 48/],
    [
      { op: 2, func: "fb", i32: Array.from({ length: 30 }, (_, i) => `a${i}`), f64: ["s", "t"] },
      /32 arguments, at most 31/,
    ],
  ];
  for (const [change, message] of cases) {
    assert.throws(() => checkKernels([ok, { ...ok, name: "b", ...change }]), message);
  }
  assert.doesNotThrow(() => checkKernels(KERNEL_LIST));
});

test("backends name their kernels without the thread count, as runs have recorded them", async () => {
  assert.equal(new TsBackend().kernels, "ts");
  for (const fma of [false, "auto"] as const) {
    const one = await createWasmBackend({ threads: 1, fma });
    const two = await createWasmBackend({ threads: 2, fma });
    try {
      assert.match(one.kernels, /^wasm-simd(-fma)?$/);
      assert.equal(two.kernels, one.kernels);
      // the value earlier versions derived from the display name and saved in train_state.json
      for (const be of [one, two]) assert.equal(be.kernels, be.name.replace(/x\d+$/, ""));
      if (fma === false) assert.equal(one.kernels, "wasm-simd");
    } finally {
      one.dispose();
      two.dispose();
    }
  }
});
