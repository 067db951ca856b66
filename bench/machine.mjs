// The machine a run is recorded with (CPU, versions, load) and the memory of Chromium's renderers
// (Linux /proc).
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { PASSAGES_FILE, QUERY, ROOT } from "./inputs.mjs";

function cpuModel() {
  const info = readFileSync("/proc/cpuinfo", "utf8");
  const field = (name) => info.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, "m"))?.[1]?.trim();
  return {
    model_name: field("model name"),
    vendor: field("vendor_id"),
    family: field("cpu family"),
    model: field("model"),
    mhz: field("cpu MHz"),
    cores: os.availableParallelism?.() ?? os.cpus().length,
    simd: ["avx2", "fma", "avx512f", "avx512_vnni"].filter((f) => new RegExp(`\\b${f}\\b`).test(info)),
  };
}

function gitRevision() {
  if (process.env.SPLADE_BENCH_REVISION) {
    return process.env.SPLADE_BENCH_REVISION; // a tree exported with `git archive`
  }
  try {
    const rev = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    return dirty ? `${rev}+dirty` : rev;
  } catch {
    return null;
  }
}

/** The run's `env` record; the report adds `chromium` and `loadavg_end` later. */
export function environment(passageCount) {
  return {
    date: new Date().toISOString(),
    cpu: cpuModel(),
    node: process.version,
    git: gitRevision(),
    onnxruntime_web: JSON.parse(readFileSync(path.join(ROOT, "node_modules/onnxruntime-web/package.json"), "utf8")).version,
    passages: `${path.relative(ROOT, PASSAGES_FILE)} (${passageCount}, truncated to 128 tokens)`,
    document: "document-512.json, truncated to 512 tokens",
    query: QUERY,
    // The machine is shared: a load well above 1 at the start or the end means the run was disturbed.
    loadavg_start: os.loadavg(),
  };
}

function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // exited meanwhile
    }
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const c of children.get(stack.pop()) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

/** Peak RSS (VmHWM) of the largest live renderer process: the page under test and its workers. */
export function rendererPeakBytes(browserPid) {
  let peak = 0;
  for (const pid of descendants(browserPid)) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("--type=renderer")) continue;
      const kib = Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmHWM:\s+(\d+)/m)?.[1] ?? 0);
      peak = Math.max(peak, kib * 1024);
    } catch {
      // exited meanwhile
    }
  }
  return peak || null;
}
