// The benchmark's command line; `--help` prints the usage at the top of bench/bench.mjs.
import { readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export function parseArgs(argv) {
  const opt = {
    repeat: 3,
    workers: Math.max(2, os.availableParallelism?.() ?? os.cpus().length),
    bertBase: false,
    bertBasePassages: 32,
    limit: null,
    only: new Set(["native", "node", "chromium", "webgpu"]),
    ort: true,
    out: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) {
        throw new Error(`${a} needs a value`);
      }
      return argv[++i];
    };
    if (a === "--repeat") opt.repeat = Math.max(1, Number(value()));
    else if (a === "--workers") opt.workers = Math.max(1, Number(value()));
    else if (a === "--bert-base") opt.bertBase = true;
    else if (a === "--bert-base-passages") opt.bertBasePassages = Math.max(1, Number(value()));
    else if (a === "--limit") opt.limit = Math.max(1, Number(value()));
    else if (a === "--only") opt.only = new Set(value().split(","));
    else if (a === "--no-ort") opt.ort = false;
    else if (a === "--out") opt.out = path.resolve(value());
    else if (a === "-h" || a === "--help") {
      console.log(readFileSync(new URL("./bench.mjs", import.meta.url), "utf8").split("\n").slice(0, 8).join("\n"));
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  return opt;
}
