// A tiny check counter shared by the JS test scripts; the last line is what build.sh counts.
export function checker(label) {
  let passed = 0;
  let failed = 0;
  const failures = [];
  return {
    check(name, ok, detail = "") {
      if (ok) {
        passed += 1;
        console.log(`ok   ${name}`);
      } else {
        failed += 1;
        failures.push(name);
        console.log(`FAIL ${name}${detail ? `: ${String(detail).slice(0, 2000)}` : ""}`);
      }
      return ok;
    },
    info(line) {
      console.log(`     ${line}`);
    },
    finish() {
      if (failures.length > 0) {
        console.log(`\nfailed: ${failures.join("; ")}`);
      }
      console.log(`${label}: ${passed} passed, ${failed} failed`);
      process.exitCode = failed > 0 ? 1 : 0;
    },
    get failed() {
      return failed;
    },
  };
}
