/**
 * Opening a WebGPU device, or saying why there is none. `navigator.gpu` exists in Chrome and Edge
 * (113 and later), Safari 26 and Firefox 141 on Windows, only on secure pages (https or
 * http://localhost / 127.0.0.1); in Node the platform supplies one from the optional npm package `webgpu`.
 */
/// <reference types="@webgpu/types" />
import { platform, type WebGpuEntry } from "../../platform/index.js";

/** A device and what it runs on. */
export interface WebGpuDevice {
  device: GPUDevice;
  /** The adapter's vendor and architecture, e.g. "google swiftshader" or "nvidia ampere". */
  adapter: string;
}

/** Thrown by `openWebGpu` when this context has no usable WebGPU adapter; the message says why. */
export class WebGpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WebGpuUnavailableError";
  }
}

/**
 * This context's WebGPU: a page's (or a Worker's) `navigator.gpu`, else the platform's (Node: the
 * optional npm package `webgpu`, src/platform/node-webgpu.ts).
 */
async function gpuOfThisContext(): Promise<WebGpuEntry> {
  const own = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  return own !== undefined ? { gpu: own, source: "navigator.gpu" } : platform().webGpu();
}

/** The adapter's vendor and architecture ("google swiftshader"), or "unknown adapter". */
function adapterName(adapter: GPUAdapter): string {
  const info = adapter.info;
  return [info.vendor, info.architecture].filter((s) => s !== "").join(" ") || "unknown adapter";
}

const noAdapter = (source: string): string => `${source} gave no adapter (no usable GPU or driver)`;

/**
 * Asks for the adapter and a device with the adapter's largest storage buffers (the backend keeps
 * every array in one buffer). Throws a WebGpuUnavailableError naming what is missing.
 */
export async function openWebGpu(): Promise<WebGpuDevice> {
  const entry = await gpuOfThisContext();
  if ("reason" in entry) throw new WebGpuUnavailableError(entry.reason);
  const adapter = await entry.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) throw new WebGpuUnavailableError(noAdapter(entry.source));
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  return { device, adapter: adapterName(adapter) };
}

/** What `probeWebGpu` finds: an adapter (software or not), or why there is none. */
export type WebGpuProbe = { adapter: string; software: boolean } | { reason: string };

/**
 * Looks for an adapter without opening a device, for a page to say what it offers: a software
 * adapter (SwiftShader, a "fallback" adapter) runs WebGPU correctly and far slower than WebAssembly.
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  const entry = await gpuOfThisContext();
  if ("reason" in entry) return { reason: entry.reason };
  const adapter = await entry.gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) return { reason: noAdapter(entry.source) };
  const name = adapterName(adapter);
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  return { adapter: name, software: info.isFallbackAdapter === true || /swiftshader/i.test(name) };
}
