/**
 * WebGPU in Node: the optional npm package `webgpu` (Dawn's Node bindings; a peer dependency that npm
 * does not install unless asked: `npm install webgpu@0.6.2`). Its prebuilt `dawn.node` for Linux x64
 * and arm64, macOS and Windows ships inside the package (about 50 MB to download), so it installs
 * offline from the registry like any package; at run time Dawn needs a GPU driver it can use (on Linux
 * a Vulkan driver and the Vulkan loader, libvulkan.so.1). It is loaded only at the first call, by
 * `mlm train --backend webgpu` (src/engine/webgpu/device.ts asks for it), never at start-up.
 *
 * @example
 *   const entry = await nodeWebGpu();
 *   if ("reason" in entry) console.error(entry.reason);
 *   else console.log(await entry.gpu.requestAdapter());
 */
/// <reference types="@webgpu/types" />
import type { WebGpuEntry } from "./platform.js";

/** The version tried (package.json's peerDependencies; test/cli/train-webgpu.test.ts holds them equal). */
export const WEBGPU_PACKAGE = "webgpu@0.6.2";

/** What the package exports (its types.d.ts). */
interface DawnModule {
  /** A `navigator.gpu`; options are Dawn's toggles, none here. */
  create(options: string[]): GPU;
  /** The WebGPU classes and constants a page has as globals (GPUBufferUsage, GPUMapMode, ...). */
  globals: object;
}

let loaded: Promise<WebGpuEntry> | null = null;

/** The package's `navigator.gpu`, made once per process, or why it cannot be had. */
export function nodeWebGpu(): Promise<WebGpuEntry> {
  loaded ??= load(WEBGPU_PACKAGE.split("@")[0]);
  return loaded;
}

/**
 * `name` comes in as a variable so that bundlers of the browser build leave the import alone (the
 * browser path never calls this).
 */
async function load(name: string): Promise<WebGpuEntry> {
  const where = `${process.platform} ${process.arch}`;
  let dawn: DawnModule;
  try {
    dawn = (await import(name)) as DawnModule;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ERR_MODULE_NOT_FOUND" && e.message.includes(`'${name}'`))
      return {
        reason: `Node has no WebGPU of its own and the npm package ${name} (Dawn) is not installed: npm install ${WEBGPU_PACKAGE}`,
      };
    return { reason: `the npm package ${name} (Dawn) did not load on ${where}: ${e.message.split("\n")[0]}` };
  }
  // The kernels use the constants a page has as globals (GPUBufferUsage, GPUMapMode, GPUShaderStage).
  Object.assign(globalThis, dawn.globals);
  return { gpu: dawn.create([]), source: `the npm package ${name} (Dawn) on ${where}` };
}
