// Loads the wasm module once per JS realm (page, worker or Node process).
//
// The compiled `WebAssembly.Module` is kept so that workers can be started from it without fetching
// or compiling the `.wasm` again (a Module can be posted to a worker; an Instance cannot).
import initBindings, * as bindings from "./splade_wasm.js";
import { isNode, readNodeFile } from "./util.js";

const WASM_URL = new URL("./splade_wasm_bg.wasm", import.meta.url);

let modulePromise = null;
let ready = null;
let exports = null;

async function compile(source) {
  if (source instanceof WebAssembly.Module) {
    return source;
  }
  if (source != null && (source instanceof ArrayBuffer || ArrayBuffer.isView(source))) {
    return WebAssembly.compile(source);
  }
  const url = source ?? WASM_URL;
  if (isNode && String(url).startsWith("file:")) {
    const bytes = await readNodeFile(url);
    if (bytes == null) {
      throw new Error(`could not load the splade-wasm module from ${url} (no such file)`);
    }
    return WebAssembly.compile(bytes);
  }
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`could not load the splade-wasm module from ${url} (HTTP ${response.status})`);
  }
  if (typeof WebAssembly.compileStreaming === "function" &&
      (response.headers.get("content-type") ?? "").startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(response);
  }
  return WebAssembly.compile(await response.arrayBuffer());
}

/**
 * The compiled module (fetched and compiled on first use). `source` overrides where it comes from:
 * a URL, the bytes, or a `WebAssembly.Module`; only the first call's source counts.
 */
export function wasmModule(source) {
  modulePromise ??= compile(source).catch((err) => {
    modulePromise = null;
    throw err;
  });
  return modulePromise;
}

/** Instantiates the bindings in this realm; safe to call many times. Returns the bindings. */
export function initWasm(source) {
  ready ??= (async () => {
    const module = await wasmModule(source);
    exports = await initBindings({ module_or_path: module });
    return bindings;
  })().catch((err) => {
    ready = null;
    throw err;
  });
  return ready;
}

/** This realm's wasm memory in bytes (it only grows: the high-water mark), or 0 before `initWasm`. */
export function wasmMemoryBytes() {
  return exports?.memory?.buffer.byteLength ?? 0;
}

export { bindings };
