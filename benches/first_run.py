#!/usr/bin/env python3
"""The first `racecheck test` of a new one-file crate, against its plain
`cargo test`: wall time and the disk of each build.

Three runs, each of a fresh copy of the same crate (a lib whose one test
races) in an empty target dir:

1. `cargo test` (the plain baseline);
2. `racecheck test` with an empty runtime cache: it builds the runtime for
   the toolchain first (once per toolchain, as a first use of the CLI);
3. `racecheck setup` in another empty cache (what installing the CLI
   costs, once per toolchain; its size column is the cache's);
4. `racecheck test` again, on a new copy, with the cache: the first run of
   every project once the CLI is installed and set up.

Usage: python3 benches/first_run.py [--json benches/first_run.json]
"""

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LIB_RS = """
use racecheck::race_check;
use std::cell::UnsafeCell;

pub struct Counter(UnsafeCell<u64>);
unsafe impl Sync for Counter {}

#[race_check]
impl Counter {
    pub fn bump(&self) {
        unsafe { *self.0.get() += 1 }
    }
}

#[test]
fn racy() {
    let c = Counter(UnsafeCell::new(0));
    std::thread::scope(|s| {
        s.spawn(|| c.bump());
        s.spawn(|| c.bump());
    });
}
"""


def make_crate(parent: Path, name: str) -> Path:
    d = parent / name
    (d / "src").mkdir(parents=True)
    (d / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n\n'
        f'[dependencies]\nracecheck = {{ path = "{ROOT / "runtime-shim"}" }}\n\n[workspace]\n'
    )
    (d / "src" / "lib.rs").write_text(LIB_RS)
    return d


def du_mib(path: Path) -> float:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / (1 << 20)


def timed(cmd, cwd, env):
    t = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    return time.monotonic() - t, p.returncode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    subprocess.run(["cargo", "build", "-q", "-p", "racecheck-cli"], cwd=ROOT, check=True)
    cli = ROOT / "target" / "debug" / "racecheck"
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ)
        env.pop("CARGO_TARGET_DIR", None)
        env["RACECHECK_CACHE_DIR"] = str(tmp / "cache")

        plain = make_crate(tmp, "plain")
        secs, code = timed(["cargo", "test", "-q"], plain, env)
        rows["cargo test"] = (secs, code, du_mib(plain / "target"))

        cold = make_crate(tmp, "cold")
        secs, code = timed([str(cli), "test"], cold, env)
        rows["racecheck test, runtime not built yet"] = (secs, code, du_mib(cold / "target"))
        cache_mib = du_mib(tmp / "cache")

        # `racecheck setup` right after installing the CLI, in a fresh cache:
        # what installing costs, once per toolchain.
        env_setup = dict(env)
        env_setup["RACECHECK_CACHE_DIR"] = str(tmp / "cache-setup")
        secs, code = timed([str(cli), "setup"], tmp, env_setup)
        rows["racecheck setup (once per toolchain, after installing)"] = (secs, code, du_mib(tmp / "cache-setup"))

        warm = make_crate(tmp, "warm")
        secs, code = timed([str(cli), "test"], warm, env)
        rows["racecheck test, runtime cached"] = (secs, code, du_mib(warm / "target"))

    print("| run | wall s | exit | target dir MiB (setup: cache) |")
    print("|---|---|---|---|")
    for name, (secs, code, mib) in rows.items():
        print(f"| {name} | {secs:.1f} | {code} | {mib:.0f} |")
    print(f"\nruntime cache: {cache_mib:.0f} MiB (once per toolchain)")
    plain_s, plain_mib = rows["cargo test"][0], rows["cargo test"][2]
    warm_s, warm_mib = rows["racecheck test, runtime cached"][0], rows["racecheck test, runtime cached"][2]
    print(f"warm over plain: time {warm_s / plain_s:.2f}x, disk {warm_mib / plain_mib:.2f}x")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {"runs": {k: {"seconds": v[0], "exit": v[1], "target_mib": v[2]} for k, v in rows.items()},
                 "runtime_cache_mib": cache_mib},
                indent=1,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
