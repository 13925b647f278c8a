#!/usr/bin/env python3
"""Code nobody here wrote: the own multi-threaded test suites of published
crates with hand-written unsafe concurrency, in deep mode or annotated.

For each crate below: fetch its published source (cargo's registry), run
its tests under `racecheck test --deep` (expected: no report, exit 0), then
weaken one ordering that publishes data (a Release store or
compare-exchange made Relaxed) and run the same tests again (expected: a
race, exit 66). Prints a Markdown table (the README's) and writes JSON.

`--annotated` does the same in annotated mode, as a user would annotate
the crate: `#[racecheck::race_check]` on every top-level fn, impl, trait
and inline module of every file under src/ (not const fns, which it
refuses), and racecheck added as a dependency. Each annotated crate must
build (its tests too) and its tests must pass silently; crates listed
without a weakening (thread_local) only check that.

Usage: python3 testdata/published/run.py [--annotated] [--racecheck PATH] [--json PATH] [--only NAME,...]
Needs the crates' sources and dev-dependencies from crates.io (fetched
once into cargo's cache).
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# name, version, `racecheck test` arguments, (file, text, weakened text[,
# count]): every occurrence of `text` in `file` is replaced, or the first
# `count`.
CRATES = [
    ("concurrent-queue", "2.5.0", ["--test", "bounded"],
     ("src/bounded.rs", "slot.stamp.store(tail + 1, Ordering::Release);",
      "slot.stamp.store(tail + 1, Ordering::Relaxed);")),
    ("crossbeam-queue", "0.3.14", ["--test", "array_queue"],
     ("src/array_queue.rs", "slot.stamp.store(tail + 1, Ordering::Release);",
      "slot.stamp.store(tail + 1, Ordering::Relaxed);")),
    ("spin", "0.10.1", ["--lib", "mutex::spin"],
     ("src/mutex/spin.rs", "self.lock.store(false, Ordering::Release);",
      "self.lock.store(false, Ordering::Relaxed);")),
    # Only the send side's publication (the first of the two such stores).
    ("crossbeam-channel", "0.5.17", ["--test", "array"],
     ("src/flavors/array.rs", "slot.stamp.store(token.array.stamp, Ordering::Release);",
      "slot.stamp.store(token.array.stamp, Ordering::Relaxed);", 1)),
]

# Crates checked only annotated, and only as published (they must build and
# stay silent): name, version, `racecheck test` arguments.
ANNOTATED_ONLY = [
    ("thread_local", "1.1.10", ["--lib"]),
]

# A top-level item a user would annotate: fn (not const fn), impl, trait,
# inline module.
ITEM = re.compile(r"^(pub(\([^)]*\))?\s+)?((unsafe|async|extern \"C\")\s+)*(fn|impl|trait)\b|^(pub(\([^)]*\))?\s+)?mod\s+\w+\s*\{")


def annotate(crate_dir):
    """Put `#[racecheck::race_check]` on every top-level item of src/, add
    the dependency; returns how many items were annotated."""
    n = 0
    for dirpath, _, files in os.walk(os.path.join(crate_dir, "src")):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            with open(path) as f:
                lines = f.readlines()
            out = []
            for line in lines:
                if ITEM.match(line):
                    out.append("#[racecheck::race_check]\n")
                    n += 1
                out.append(line)
            with open(path, "w") as f:
                f.writelines(out)
    with open(os.path.join(crate_dir, "Cargo.toml"), "a") as f:
        f.write(f'\n[dependencies.racecheck]\npath = "{os.path.join(ROOT, "runtime-shim")}"\n')
    return n


def fetch(name, version, scratch):
    """The crate's published source, unpacked by cargo."""
    proj = os.path.join(scratch, "fetch")
    os.makedirs(os.path.join(proj, "src"), exist_ok=True)
    with open(os.path.join(proj, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "fetch"\nversion = "0.0.0"\nedition = "2021"\n\n'
                f'[dependencies]\n{name} = "={version}"\n\n[workspace]\n')
    open(os.path.join(proj, "src", "lib.rs"), "w").close()
    r = subprocess.run(["cargo", "fetch", "--manifest-path", os.path.join(proj, "Cargo.toml")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"cargo fetch {name} {version} failed:\n{r.stderr}")
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    src = os.path.join(home, "registry", "src")
    for index in sorted(os.listdir(src)):
        d = os.path.join(src, index, f"{name}-{version}")
        if os.path.isdir(d):
            return d
    sys.exit(f"{name}-{version} not found under {src} after cargo fetch")


def run(racecheck, crate_dir, args, annotated):
    start = time.perf_counter()
    mode = [] if annotated else ["--deep"]
    r = subprocess.run([racecheck, "test"] + mode + args, cwd=crate_dir, capture_output=True, text=True)
    secs = time.perf_counter() - start
    out = r.stdout + r.stderr
    passed = sum(int(n) for n in re.findall(r"test result: \w+\. (\d+) passed", out))
    return {"exit": r.returncode, "seconds": round(secs, 1), "races": out.count("WARNING: DATA RACE"),
            "tests_passed": passed, "tail": out[-3000:]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--racecheck", default=None, help="the racecheck binary (default: build this checkout's)")
    ap.add_argument("--json", default=os.path.join(ROOT, "testdata", "published", "results.json"))
    ap.add_argument("--only", help="comma-separated crate names")
    ap.add_argument("--annotated", action="store_true", help="annotated mode, every top-level item annotated")
    opts = ap.parse_args()
    if opts.annotated and opts.json == ap.get_default("json"):
        opts.json = os.path.join(ROOT, "testdata", "published", "annotated.json")
    racecheck = opts.racecheck and os.path.abspath(opts.racecheck)
    if racecheck is None:
        subprocess.run(["cargo", "build", "-q", "--release", "-p", "racecheck-cli"], cwd=ROOT, check=True)
        racecheck = os.path.join(ROOT, "target", "release", "racecheck")
    crates = CRATES + ([(n, v, a, None) for n, v, a in ANNOTATED_ONLY] if opts.annotated else [])
    crates = [c for c in crates if not opts.only or c[0] in opts.only.split(",")]
    flag = "" if opts.annotated else " --deep"
    results = []
    ok = True
    with tempfile.TemporaryDirectory(prefix="racecheck-published-") as scratch:
        for name, version, args, weakening in crates:
            src = fetch(name, version, scratch)
            d = os.path.join(scratch, f"{name}-{version}")
            shutil.copytree(src, d)
            manifest = os.path.join(d, "Cargo.toml")
            with open(manifest) as f:
                toml = f.read()
            if "[workspace]" not in toml:
                with open(manifest, "a") as f:
                    f.write("\n[workspace]\n")
            items = annotate(d) if opts.annotated else 0
            print(f"{name} {version}: racecheck test{flag} {' '.join(args)}"
                  + (f" ({items} items annotated)" if opts.annotated else ""), file=sys.stderr)
            correct = run(racecheck, d, args, opts.annotated)
            if weakening is None:
                good = correct["exit"] == 0 and correct["races"] == 0 and correct["tests_passed"] > 0
                ok &= good
                if not good:
                    print(f"{name}: unexpected outcome\n{correct['tail']}", file=sys.stderr)
                results.append({"crate": name, "version": version, "args": args, "items": items,
                                "weakened": None, "as_published": correct, "expected": good})
                continue
            path, text, weak, *count = weakening
            with open(os.path.join(d, path)) as f:
                code = f.read()
            if text not in code:
                sys.exit(f"{name}: `{text}` not found in {path}")
            with open(os.path.join(d, path), "w") as f:
                f.write(code.replace(text, weak, *count))
            print(f"{name} {version}: weakened {path}, again", file=sys.stderr)
            weakened = run(racecheck, d, args, opts.annotated)
            good = (correct["exit"] == 0 and correct["races"] == 0 and weakened["exit"] == 66
                    and weakened["races"] > 0)
            ok &= good
            if not good:
                print(f"{name}: unexpected outcome\n--- as published:\n{correct['tail']}\n"
                      f"--- weakened:\n{weakened['tail']}", file=sys.stderr)
            results.append({"crate": name, "version": version, "args": args, "items": items,
                            "weakened": f"{path}: {weak.strip()}",
                            "as_published": correct, "weakened_run": weakened, "expected": good})
    print("| crate | tests run | as published | weakened ordering | weakened run |")
    print("|---|---|---|---|---|")
    for r in results:
        c, w = r["as_published"], r.get("weakened_run")
        items = f", {r['items']} items annotated" if opts.annotated else ""
        weak = (f"`{r['weakened'].split(': ', 1)[1]}` in `{r['weakened'].split(':')[0]}` | "
                f"{w['races']} reports, exit {w['exit']}") if w else "— | —"
        print(f"| {r['crate']} {r['version']} (`{' '.join(r['args'])}`{items}) | {c['tests_passed']} | "
              f"{c['races']} reports, exit {c['exit']}, {c['seconds']} s | {weak} |")
    if opts.json:
        for r in results:
            for k in ("as_published", "weakened_run"):
                if k in r:
                    r[k].pop("tail", None)
        with open(opts.json, "w") as f:
            json.dump(results, f, indent=1)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
