// Shared Playwright launch settings for Debian chromium (no browser downloads).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export function chromiumPath() {
  if (process.env.CHROMIUM_PATH) {
    return process.env.CHROMIUM_PATH;
  }
  if (existsSync("/usr/bin/chromium")) {
    return "/usr/bin/chromium";
  }
  try {
    return execFileSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("chromium not found; run ./build.sh setup or set CHROMIUM_PATH");
  }
}

export async function launchChromium(extraArgs = []) {
  // The machine has no network: these flags stop Chromium's own background connections.
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    timeout: 60_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--no-first-run",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-quic",
      ...extraArgs,
    ],
  });
}

// Kills the process if a browser run hangs; returns a cancel function.
export function watchdog(label, ms) {
  const timer = setTimeout(() => {
    console.error(`${label}: timed out after ${ms / 1000} s`);
    console.log(`${label}: 0 passed, 1 failed`);
    process.exit(1);
  }, ms);
  return () => clearTimeout(timer);
}
