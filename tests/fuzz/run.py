#!/usr/bin/python3
"""Build the libFuzzer targets (clang) and run each for a while.

Builds every tests/fuzz/fuzz_<target>.c into <build>/fuzz/fuzz_<target>, then
runs each for VRELAY_FUZZ_SECONDS (default 60) seconds against its seed
corpus tests/fuzz/corpus/<target>/. The seeds are only read: new inputs go to
a temporary corpus, unless --update-corpus merges them into the seed
directory. Prints one line per target and ends with 'N passed, N failed'
(one per target); exit status 1 if any failed. See tests/fuzz/README.md."""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROTO_DIR = os.path.join(ROOT, "proto")
PROTO = "virtioforwarder.proto"

REQ_MAX_LEN = 65536
CONF_MAX_LEN = 16384

# target -> max_len; every target links the same sources
TARGETS = {
    "port_request": REQ_MAX_LEN,
    "stats_request": REQ_MAX_LEN,
    "sched_request": REQ_MAX_LEN,
    "config": CONF_MAX_LEN,
    "vfconf": CONF_MAX_LEN,
    "offload": 6 + 65535,
    "esp_decap": 2100,
    "underlay_tap": 8 * 2100,
}
SOURCES = ["src/api/request.c", "src/config/config.c", "src/config/underlay.c", "src/config/conffile.c",
           "src/config/devargs.c", "src/core/safefile.c",
           "src/config/vfconf.c", "src/core/errmsg.c", "src/migrate/announce.c",
           "src/migrate/neigh.c"]
# every folder of src/ is an include directory, as in the meson build
SRC_DIRS = ["", "config", "core", "datapath", "migrate", "tunnel", "api", "ports",
            "ports/vhost"]
# targets on mbufs: their own sources, built against DPDK (an EAL in memory)
DPDK_TARGETS = {"offload": ["src/datapath/offload.c"],
                "esp_decap": ["src/tunnel/esp.c", "src/core/errmsg.c"],
                "underlay_tap": ["src/datapath/underlay_tap.c"]}

CC = "clang"
# -fno-sanitize-recover: an UBSan finding aborts, so libFuzzer reports it
SAN = "-fsanitize=fuzzer,address,undefined"
CFLAGS = ["-g", "-O1", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer",
          "-D_GNU_SOURCE", "-Wall"]
LIBS = ["-lprotobuf-c"]
TAIL = 40


def log(msg):
    print(msg, flush=True)


def toolchain_problem(outdir):
    """None if clang, its libFuzzer runtime, protoc-c and protobuf-c work,
    else a sentence saying what is missing."""
    if shutil.which(CC) is None:
        return "clang not found (install clang and libclang-rt-dev, e.g. clang-14 " \
               "libclang-rt-14-dev)"
    if shutil.which("protoc-c") is None:
        return "protoc-c not found (install protobuf-c-compiler)"
    os.makedirs(outdir, exist_ok=True)
    probe = os.path.join(outdir, "probe.c")
    with open(probe, "w") as f:
        f.write("#include <stddef.h>\n#include <stdint.h>\n"
                "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)"
                "{ (void)d; (void)n; return 0; }\n")
    p = subprocess.run([CC, SAN, probe, "-o", os.path.join(outdir, "probe"), "-lprotobuf-c"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        return ("clang cannot link a libFuzzer/ASan/UBSan program (is the fuzzer runtime "
                "installed? e.g. libclang-rt-14-dev; is libprotobuf-c-dev installed?):\n"
                + "\n".join(p.stderr.strip().splitlines()[-10:]))
    return None


def build(outdir, targets):
    """Returns {target: binary or None}, {target: error text}."""
    gen = os.path.join(outdir, "gen")
    os.makedirs(gen, exist_ok=True)
    bins, errors = {}, {}
    p = subprocess.run(["protoc-c", "--proto_path=" + PROTO_DIR, "--c_out=" + gen, PROTO],
                       capture_output=True, text=True)
    if p.returncode != 0:
        for t in targets:
            bins[t], errors[t] = None, "protoc-c failed:\n" + p.stderr
        return bins, errors
    incs = [a for d in SRC_DIRS for a in ("-I", os.path.join(ROOT, "src", d))] + \
        ["-I", gen, "-I", HERE]
    srcs = [os.path.join(ROOT, s) for s in SOURCES] + [os.path.join(gen, "virtioforwarder.pb-c.c")]
    for t in targets:
        exe = os.path.join(outdir, "fuzz_" + t)
        if t in DPDK_TARGETS:
            dpdk = subprocess.run(["pkg-config", "--cflags", "--libs", "libdpdk"],
                                  capture_output=True, text=True).stdout.split()
            cmd = [CC] + CFLAGS + [SAN] + incs + [os.path.join(HERE, "fuzz_%s.c" % t)] + \
                [os.path.join(ROOT, x) for x in DPDK_TARGETS[t]] + ["-o", exe] + dpdk
        else:
            cmd = [CC] + CFLAGS + [SAN] + incs + [os.path.join(HERE, "fuzz_%s.c" % t)] + \
                srcs + ["-o", exe] + LIBS
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode != 0:
            bins[t], errors[t] = None, "build failed: %s\n%s" % (" ".join(cmd), p.stderr)
        else:
            bins[t] = exe
    return bins, errors


def tail(text, n=TAIL):
    return "\n".join(text.rstrip("\n").splitlines()[-n:])


def execs_of(output):
    m = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
    if m:
        return int(m[-1])
    m = re.findall(r"Done (\d+) runs", output)
    return int(m[-1]) if m else 0


def run_target(t, exe, outdir, seconds, update):
    """Runs one target; returns (ok, line, details)."""
    seed = os.path.join(HERE, "corpus", t)
    os.makedirs(seed, exist_ok=True)
    artifacts = os.path.join(outdir, "artifacts", t)
    shutil.rmtree(artifacts, ignore_errors=True)
    os.makedirs(artifacts)
    max_len = TARGETS[t]
    opts = ["-timeout=10", "-rss_limit_mb=2048", "-max_len=%d" % max_len,
            "-artifact_prefix=" + artifacts + "/", "-print_final_stats=1"]
    dic = os.path.join(HERE, t + ".dict")
    if os.path.exists(dic):
        opts.append("-dict=" + dic)
    logfile = os.path.join(outdir, t + ".log")
    with tempfile.TemporaryDirectory(prefix="vrelay-fuzz-%s-" % t) as work:
        cmd = [exe, work, seed, "-max_total_time=%d" % seconds] + opts
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", timeout=seconds * 2 + 120)
            out, rc = p.stdout, p.returncode
        except subprocess.TimeoutExpired as e:
            out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else \
                (e.stdout or "")
            out += "\n(run.py: the fuzzer did not stop in time and was killed)\n"
            rc = -1
        with open(logfile, "w") as f:
            f.write(" ".join(cmd) + "\n" + out)
        crashes = sorted(glob.glob(os.path.join(artifacts, "*")))
        if rc != 0 or crashes:
            detail = "  command: %s\n  log: %s\n" % (" ".join(cmd), logfile)
            if crashes:
                detail += "".join("  reproducer: %s\n" % c for c in crashes)
                detail += "  reproduce: %s %s\n" % (exe, crashes[0])
            else:
                detail += "  reproducer: none written (exit status %d)\n" % rc
            detail += "  last %d lines of output:\n%s" % (TAIL, tail(out))
            return False, "fuzz %s: FAILED" % t, detail
        execs = execs_of(out)
        line = "fuzz %s: ok (%d execs)" % (t, execs)
        if update:
            before = len(os.listdir(seed))
            m = subprocess.run([exe, "-merge=1", seed, work] + opts[:3],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               errors="replace")
            if m.returncode != 0:
                return False, "fuzz %s: FAILED" % t, \
                    "  corpus merge failed:\n" + tail(m.stdout)
            line += ", corpus %d -> %d files" % (before, len(os.listdir(seed)))
        return True, line, ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("VRELAY_BUILD", "build"),
                    help="build directory (relative: to the repository root); "
                         "targets go to BUILD/fuzz/ (default: $VRELAY_BUILD or 'build')")
    ap.add_argument("--update-corpus", action="store_true",
                    help="merge new coverage-increasing inputs into tests/fuzz/corpus/")
    ap.add_argument("--seconds", type=int,
                    default=int(os.environ.get("VRELAY_FUZZ_SECONDS", "60")),
                    help="seconds per target (default: $VRELAY_FUZZ_SECONDS or 60)")
    ap.add_argument("targets", nargs="*", metavar="TARGET",
                    help="targets to run (default: all of %s)" % ", ".join(TARGETS))
    args = ap.parse_args()
    targets = args.targets or list(TARGETS)
    for t in targets:
        if t not in TARGETS:
            ap.error("unknown target '%s' (known: %s)" % (t, ", ".join(TARGETS)))
    outdir = os.path.join(ROOT, args.build, "fuzz")

    passed = failed = 0
    problem = toolchain_problem(outdir)
    if problem is not None:
        log("fuzz: cannot build the fuzz targets: " + problem)
        for t in targets:
            log("fuzz %s: FAILED (no fuzzing toolchain)" % t)
        failed = len(targets)
    else:
        bins, errors = build(outdir, targets)
        for t in targets:
            if bins[t] is None:
                log("fuzz %s: FAILED\n%s" % (t, tail(errors[t])))
                failed += 1
                continue
            ok, line, detail = run_target(t, bins[t], outdir, args.seconds, args.update_corpus)
            log(line)
            if detail:
                log(detail)
            if ok:
                passed += 1
            else:
                failed += 1
    log("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
