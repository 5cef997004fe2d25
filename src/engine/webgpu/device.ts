/**
 * Opening a WebGPU device, or saying why there is none. `navigator.gpu` exists in Chrome and Edge
 * (113 and later), Safari 26 and Firefox 141 on Windows, only on secure pages (https or
 * http://localhost / 127.0.0.1); Node has none unless a WebGPU package installs one on globalThis.
 */
/// <reference types="@webgpu/types" />

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

function gpuOfThisContext(): GPU | undefined {
  return (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
}

/**
 * Asks for the adapter and a device with the adapter's largest storage buffers (the backend keeps
 * every array in one buffer). Throws a WebGpuUnavailableError naming what is missing.
 */
export async function openWebGpu(): Promise<WebGpuDevice> {
  const gpu = gpuOfThisContext();
  if (gpu === undefined)
    throw new WebGpuUnavailableError(
      "this context has no navigator.gpu (a browser without WebGPU, or a page that is not https or localhost)",
    );
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) throw new WebGpuUnavailableError("navigator.gpu gave no adapter (no usable GPU or driver)");
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
      maxBufferSize: adapter.limits.maxBufferSize,
    },
  });
  const info = adapter.info;
  const name = [info.vendor, info.architecture].filter((s) => s !== "").join(" ");
  return { device, adapter: name === "" ? "unknown adapter" : name };
}

/** What `probeWebGpu` finds: an adapter (software or not), or why there is none. */
export type WebGpuProbe = { adapter: string; software: boolean } | { reason: string };

/**
 * Looks for an adapter without opening a device, for a page to say what it offers: a software
 * adapter (SwiftShader, a "fallback" adapter) runs WebGPU correctly and far slower than WebAssembly.
 */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  const gpu = gpuOfThisContext();
  if (gpu === undefined)
    return {
      reason: "this context has no navigator.gpu (a browser without WebGPU, or a page that is not https or localhost)",
    };
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (adapter === null) return { reason: "navigator.gpu gave no adapter (no usable GPU or driver)" };
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const name = [info.vendor, info.architecture].filter((s) => s !== "").join(" ") || "unknown adapter";
  return { adapter: name, software: info.isFallbackAdapter === true || /swiftshader/i.test(name) };
}
