#!/usr/bin/env python3
"""racecheck's benchmark suite: overhead against an uninstrumented run and
against ThreadSanitizer, as ratios.

Usage: python3 benches/run.py [--reps N] [--scale F] [--json PATH] [--no-tsan] [--only BIN,...]

Builds benches/workloads three ways from the same source: plain
(`cargo build --release`), under racecheck (`racecheck run --release`, every
workload is annotated), and under ThreadSanitizer on the nightly toolchain
when one is installed (`-Zsanitizer=thread`; skipped with a note otherwise).
Runs each workload --reps times per build (default 5; the builds take
turns within each repetition; the two-thread ring gets three times as
many), takes the median wall time and peak RSS (through GNU time, see
measure()), prints one table of ratios against the plain build (and
racecheck's time over TSan's: of the medians, and "paired", the median of
each repetition's racecheck run over the TSan run beside it), then the
access hook's own cost under racecheck (w0_hook: a first access, a
repeated access in the same epoch, an access right after a release, in ns), and the machine's own two-thread speedup on register-only
work (wc_two_cores: the ceiling for workload 2's scaling figure), and writes
the numbers as JSON (benches/results.json by default).
`--only w2_own_halves,w5_spsc_ring` runs just those workloads (for a quick
look; the JSON is then written only where --json says).
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKLOADS_DIR = os.path.join(ROOT, "benches", "workloads")
MANIFEST = os.path.join(WORKLOADS_DIR, "Cargo.toml")
HOST = "x86_64-unknown-linux-gnu"

# (name shown, binary, extra args after the scale, repetitions as a multiple
# of --reps); a binary named `NAME@debug` is NAME built with the debug
# profile, as `cargo test` and `racecheck test` build by default (every
# iterator step is then a call, and in deep mode an instrumented frame). The two-thread ring gets three times as many: every message
# moves cache lines between the cores, and what that costs on this VM
# changes from run to run by up to 10x, for the plain program as much as
# for the instrumented ones (see benches/README.md), so its medians need
# more runs to settle.
WORKLOADS = [
    ("1 one thread, 1e8 ptr accesses", "w1_single_thread", [], 1),
    ("2 own halves of 64 MiB, 2 threads", "w2_own_halves", ["2"], 1),
    ("2 own halves of 64 MiB, 1 thread", "w2_own_halves", ["1"], 1),
    ("3 shared reads of 16 MiB", "w3_shared_reads", [], 1),
    ("4 std Mutex, 1e7 updates", "w4_mutex", [], 1),
    ("5 SPSC ring, 1e7 messages", "w5_spsc_ring", [], 3),
    ("5 SPSC ring, 1 thread in turn", "w5_spsc_ring", ["1"], 1),
    ("6 alloc/write/free 2x1e6 boxes", "w6_alloc_free", [], 1),
    ("7 read-modify-write 1 MiB, 2e8 accesses", "w7_rmw", [], 1),
    ("7 read-modify-write, 2 threads on own halves", "w7_rmw", ["2"], 1),
    ("1 as above, debug build", "w1_single_thread@debug", [], 1),
    ("2 own halves, 1 thread, debug build", "w2_own_halves@debug", ["1"], 1),
]


def sh(cmd, env=None, quiet=True):
    full_env = dict(os.environ)
    full_env.update(env or {})
    out = subprocess.DEVNULL if quiet else None
    r = subprocess.run(cmd, env=full_env, stdout=out, stderr=out)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)} (exit {r.returncode})")


def has_nightly():
    if shutil.which("rustup") is None:
        return False
    r = subprocess.run(["rustup", "toolchain", "list"], capture_output=True, text=True)
    return any(line.startswith("nightly") for line in r.stdout.splitlines())


def build(variants, workloads):
    names = {w[1] for w in workloads} | {"w0_hook"}
    exes = {v: {} for v in ["base", "racecheck", "deep", "tsan"]}
    for profile, suffix in [("release", ""), ("debug", "@debug")]:
        bins = sorted(n.removesuffix(suffix) for n in names if ("@" in n) == bool(suffix) and n.endswith(suffix))
        if bins:
            for v, paths in build_profile(variants, bins, profile).items():
                exes[v].update({b + suffix: p for b, p in paths.items()})
    return exes


def build_profile(variants, bins, profile):
    flag = ["--release"] if profile == "release" else []
    exes = {}
    print(f"building plain workloads ({profile})…", file=sys.stderr)
    base_dir = os.path.join(ROOT, "benches", "target", "base")
    sh(["cargo", "build", *flag, "--manifest-path", MANIFEST, "--target-dir", base_dir])
    exes["base"] = {b: os.path.join(base_dir, profile, b) for b in bins}

    print(f"building racecheck and the instrumented workloads ({profile})…", file=sys.stderr)
    sh(["cargo", "build", "--release", "-q", "-p", "racecheck-cli"], quiet=False)
    cli = os.path.join(ROOT, "target", "release", "racecheck")
    for b in bins:
        # A tiny run builds the binary; timing runs call it directly.
        sh([cli, "run", *flag, "--manifest-path", MANIFEST, "--bin", b, "--", "0.0001", "1"])
    rc_dir = os.path.join(WORKLOADS_DIR, "target", "racecheck", HOST, profile)
    exes["racecheck"] = {b: os.path.join(rc_dir, b) for b in bins}

    if "deep" in variants:
        print(f"building the workloads in deep mode ({profile})…", file=sys.stderr)
        for b in bins:
            sh([cli, "run", "--deep", *flag, "--manifest-path", MANIFEST, "--bin", b, "--", "0.0001", "1"])
        deep_dir = os.path.join(WORKLOADS_DIR, "target", "racecheck", "deep-workspace", HOST, profile)
        exes["deep"] = {b: os.path.join(deep_dir, b) for b in bins}

    if "tsan" in variants:
        print(f"building ThreadSanitizer workloads (nightly, {profile})…", file=sys.stderr)
        tsan_dir = os.path.join(ROOT, "benches", "target", "tsan")
        env = {"RUSTFLAGS": "-Zsanitizer=thread -Cunsafe-allow-abi-mismatch=sanitizer"}
        sh(["cargo", "+nightly", "build", *flag, "--manifest-path", MANIFEST, "--target", HOST,
            "--target-dir", tsan_dir], env=env)
        exes["tsan"] = {b: os.path.join(tsan_dir, HOST, profile, b) for b in bins}
    return exes


# Peak RSS must come from a process that never held this script's memory:
# Linux carries a process's peak RSS across exec, so a child forked from
# Python reports at least Python's own ~14 MiB. GNU time forks the workload
# from a ~1 MiB process and reports that child's peak alone.
GNU_TIME = os.access("/usr/bin/time", os.X_OK)


def measure(exe, args, env):
    """Wall seconds, peak RSS (MiB), user and system CPU seconds of one run."""
    full_env = dict(os.environ)
    full_env.update(env)
    cmd = [exe] + args
    rss_file = None
    if GNU_TIME:
        fd, rss_file = tempfile.mkstemp(prefix="racecheck-bench-rss-")
        os.close(fd)
        cmd = ["/usr/bin/time", "-q", "-f", "%M", "-o", rss_file] + cmd
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=full_env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{exe} {' '.join(args)} exited {code}")
    rss_mib = usage.ru_maxrss / 1024.0
    if rss_file:
        with open(rss_file) as f:
            rss_mib = int(f.read().split()[-1]) / 1024.0
        os.unlink(rss_file)
    return wall, rss_mib, usage.ru_utime, usage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5, help="runs per build and workload (median taken)")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the workloads' sizes")
    ap.add_argument("--json", default=os.path.join(ROOT, "benches", "results.json"))
    ap.add_argument("--no-tsan", action="store_true", help="skip ThreadSanitizer even if nightly exists")
    ap.add_argument("--no-deep", action="store_true", help="skip deep mode (racecheck run --deep)")
    ap.add_argument("--only", help="comma-separated workload binaries to run (default: all)")
    opts = ap.parse_args()
    workloads = WORKLOADS
    if opts.only:
        wanted = set(opts.only.split(","))
        known = {w[1] for w in WORKLOADS}
        unknown = wanted - known
        if unknown:
            sys.exit(f"--only: no workload named {', '.join(sorted(unknown))} "
                     f"(known: {', '.join(sorted(known))})")
        workloads = [w for w in WORKLOADS if w[1] in wanted]
        if "--json" not in sys.argv:
            opts.json = None

    variants = ["base", "racecheck"]
    if not opts.no_deep:
        variants.append("deep")
    if not opts.no_tsan and has_nightly():
        variants.append("tsan")
    else:
        print("note: no nightly toolchain (or --no-tsan): ThreadSanitizer column skipped", file=sys.stderr)
    if not GNU_TIME:
        print("note: /usr/bin/time not found: peak RSS includes this script's own ~14 MiB "
              "(Linux keeps a forked child's peak across exec); install GNU time for exact figures",
              file=sys.stderr)
    exes = build(variants, workloads)
    env = {"RACECHECK_OPTIONS": "", "TSAN_OPTIONS": "report_signal_unsafe=0 exitcode=0"}

    results = []
    for name, b, extra, factor in workloads:
        row = {"workload": name, "binary": b, "args": extra}
        # Variants take turns within each repetition, so a noisy spell on
        # the machine hits all of them rather than one.
        all_runs = {v: [] for v in variants}
        for _ in range(opts.reps * factor):
            for v in variants:
                all_runs[v].append(measure(exes[v][b], [str(opts.scale)] + extra, env))
        for v in variants:
            runs = all_runs[v]
            row[v] = {
                "seconds": statistics.median(r[0] for r in runs),
                "rss_mib": statistics.median(r[1] for r in runs),
                "user_s": statistics.median(r[2] for r in runs),
                "sys_s": statistics.median(r[3] for r in runs),
                "runs": [{"seconds": r[0], "rss_mib": r[1], "user_s": r[2], "sys_s": r[3]} for r in runs],
            }
            print(f"  {name:36} {v:10} {row[v]['seconds']:8.3f} s {row[v]['rss_mib']:8.1f} MiB", file=sys.stderr)
        if "tsan" in variants:
            # Each repetition's racecheck run over the TSan run next to it in
            # time: a slow spell of the machine cancels out of the ratio.
            row["racecheck_over_tsan_paired"] = statistics.median(
                r[0] / t[0] for r, t in zip(all_runs["racecheck"], all_runs["tsan"]))
            if "deep" in variants:
                row["deep_over_tsan_paired"] = statistics.median(
                    r[0] / t[0] for r, t in zip(all_runs["deep"], all_runs["tsan"]))
        results.append(row)

    def ratio(row, v, key):
        return row[v][key] / row["base"][key]

    tsan = "tsan" in variants
    deep = "deep" in variants
    header = (f"| workload | plain s | racecheck × | {'deep × | ' if deep else ''}"
              f"{'TSan × | racecheck ÷ TSan | paired | ' if tsan else ''}{'deep ÷ TSan | ' if tsan and deep else ''}"
              f"plain MiB | racecheck mem × | {'deep mem × | ' if deep else ''}{'TSan mem × |' if tsan else ''}")
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for row in results:
        cells = [row["workload"], f"{row['base']['seconds']:.3f}", f"{ratio(row, 'racecheck', 'seconds'):.1f}"]
        if deep:
            cells.append(f"{ratio(row, 'deep', 'seconds'):.1f}")
        if tsan:
            cells.append(f"{ratio(row, 'tsan', 'seconds'):.1f}")
            cells.append(f"{row['racecheck']['seconds'] / row['tsan']['seconds']:.2f}")
            cells.append(f"{row['racecheck_over_tsan_paired']:.2f}")
            if deep:
                cells.append(f"{row['deep']['seconds'] / row['tsan']['seconds']:.2f}")
        cells += [f"{row['base']['rss_mib']:.0f}", f"{ratio(row, 'racecheck', 'rss_mib'):.1f}"]
        if deep:
            cells.append(f"{ratio(row, 'deep', 'rss_mib'):.1f}")
        if tsan:
            cells.append(f"{ratio(row, 'tsan', 'rss_mib'):.1f}")
        print("| " + " | ".join(cells) + " |")

    summary = {}
    geo = lambda xs: math.exp(sum(math.log(x) for x in xs) / len(xs))
    # The one-thread variants of workloads 2 and 5 are context, not part of
    # the suite (workload 7 is one thread by default; its two-thread run
    # counts too).
    rows = [r for r in results if r["args"] != ["1"]]
    if len(workloads) == len(WORKLOADS):
        summary["racecheck_geomean_slowdown"] = geo([ratio(r, "racecheck", "seconds") for r in rows])
        if "tsan" in variants:
            summary["tsan_geomean_slowdown"] = geo([ratio(r, "tsan", "seconds") for r in rows])
            summary["racecheck_over_tsan_geomean"] = (summary["racecheck_geomean_slowdown"]
                                                      / summary["tsan_geomean_slowdown"])
            summary["racecheck_over_tsan_paired_geomean"] = geo([r["racecheck_over_tsan_paired"] for r in rows])
        if "deep" in variants:
            summary["deep_geomean_slowdown"] = geo([ratio(r, "deep", "seconds") for r in rows])
            if "tsan" in variants:
                summary["deep_over_tsan_geomean"] = summary["deep_geomean_slowdown"] / summary["tsan_geomean_slowdown"]
                summary["deep_over_tsan_paired_geomean"] = geo([r["deep_over_tsan_paired"] for r in rows])
    two = next((r for r in results if r["binary"] == "w2_own_halves" and r["args"] == ["2"]), None)
    one = next((r for r in results if r["binary"] == "w2_own_halves" and r["args"] == ["1"]), None)
    if one and two:
        w2_summary(summary, one, two)
    hook(summary, exes, env, opts.scale)
    # The machine's own two-thread ceiling on register-only work (plain).
    calib = os.path.join(ROOT, "benches", "target", "base", "release", "wc_two_cores")
    summary["machine_two_thread_speedup"] = float(subprocess.run([calib], capture_output=True, text=True).stdout)
    for k, v in summary.items():
        print(f"{k}: {v:.2f}")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump({"reps": opts.reps, "scale": opts.scale, "variants": variants, "results": results,
                       "summary": summary}, f, indent=2)
        print(f"(written to {os.path.relpath(opts.json, ROOT)})", file=sys.stderr)


def w2_summary(summary, one, two):
    summary["w2_racecheck_two_thread_speedup"] = one["racecheck"]["seconds"] / two["racecheck"]["seconds"]
    # Context for that figure: how the plain program itself scales (its own
    # page faults on fresh memory do not), and how the time racecheck adds
    # scales on its own.
    summary["w2_plain_two_thread_speedup"] = one["base"]["seconds"] / two["base"]["seconds"]
    if "tsan" in one:
        summary["w2_tsan_two_thread_speedup"] = one["tsan"]["seconds"] / two["tsan"]["seconds"]
    summary["w2_plain_sys_s_one_thread"] = one["base"]["sys_s"]
    summary["w2_plain_sys_s_two_threads"] = two["base"]["sys_s"]
    summary["w2_racecheck_user_s_one_thread"] = one["racecheck"]["user_s"]
    summary["w2_racecheck_user_s_two_threads"] = two["racecheck"]["user_s"]


def hook(summary, exes, env, scale):
    """The hook itself, timed in-process (ns per access), under racecheck."""
    hook_env = dict(os.environ)
    hook_env.update(env)
    out = subprocess.run([exes["racecheck"]["w0_hook"], str(scale)], capture_output=True, text=True, env=hook_env)
    first, same, after = (float(x) for x in out.stdout.split())
    summary["hook_first_access_ns"] = first
    summary["hook_same_epoch_ns"] = same
    summary["hook_after_release_ns"] = after


if __name__ == "__main__":
    main()
