// Prints pkg/package.json for the npm package (version and license from Cargo.toml).
import { readFileSync } from "node:fs";

const cargo = readFileSync(new URL("../Cargo.toml", import.meta.url), "utf8");
const field = (name) => new RegExp(`^${name}\\s*=\\s*"([^"]*)"`, "m").exec(cargo)?.[1];

const pkg = {
  name: "splade-wasm",
  version: field("version"),
  description: "Learned sparse retrieval (SPLADE) in the browser and Node: WebAssembly encoders, an inverted index, workers, model caching",
  license: field("license"),
  type: "module",
  main: "./index.js",
  module: "./index.js",
  types: "./index.d.ts",
  exports: {
    ".": { types: "./index.d.ts", default: "./index.js" },
    "./raw": { types: "./splade_wasm.d.ts", default: "./splade_wasm.js" },
    "./splade_wasm_bg.wasm": "./splade_wasm_bg.wasm",
    "./worker.js": "./worker.js",
    "./site": { types: "./site/index.d.ts", default: "./site/index.js" },
    "./site/element": { types: "./site/splade-search.d.ts", default: "./site/splade-search.js" },
    "./package.json": "./package.json",
  },
  files: ["*.js", "*.d.ts", "site/", "splade_wasm_bg.wasm", "README.md", "LICENSE"],
  sideEffects: false,
  engines: { node: ">=20" },
  keywords: ["splade", "sparse retrieval", "search", "wasm", "webassembly", "offline", "bert"],
};
process.stdout.write(JSON.stringify(pkg, null, 2) + "\n");
