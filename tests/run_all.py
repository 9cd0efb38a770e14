#!/usr/bin/python3
"""make test: formatting, unit tests (every cmocka case counted), system tests, VM tests,
fuzzing.

Prints each suite's output and ends with one line: 'N passed, N failed'."""

import argparse
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def run_format():
    """Every C file of the repository as .clang-format has it: one check."""
    files = subprocess.run(["git", "-C", os.path.dirname(HERE), "ls-files", "*.c", "*.h"],
                           capture_output=True, text=True).stdout.split()
    p = subprocess.run(["clang-format", "--dry-run", "--Werror"] +
                       [os.path.join(os.path.dirname(HERE), f) for f in files],
                       capture_output=True, text=True)
    ok = p.returncode == 0 and files
    if not ok:
        sys.stdout.write("format: files differ from .clang-format (make format):\n" +
                         p.stderr[-3000:])
    print("format: %d passed, %d failed" % (1 if ok else 0, 0 if ok else 1), flush=True)
    return (1, 0) if ok else (0, 1)


def run_unit(build):
    """meson test; counts cmocka cases from the test log."""
    p = subprocess.run(["meson", "test", "-C", build, "--suite", "unit", "--print-errorlogs"],
                       capture_output=True, text=True)
    sys.stdout.write(p.stdout[-4000:] + p.stderr[-2000:])
    log = open(os.path.join(build, "meson-logs", "testlog.txt")).read()
    passed = sum(int(n) for n in re.findall(r"\[  PASSED  \] (\d+) test", log))
    failed = sum(int(n) for n in re.findall(r"\[  FAILED  \] (\d+) test", log))
    crashed = len(re.findall(r"^ *\d+/\d+ \S+ +(?:FAIL|ERROR|TIMEOUT)", p.stdout, re.M))
    # a test program that crashed prints no cmocka summary: count it as failed
    if p.returncode != 0 and failed == 0:
        failed = max(crashed, 1)
    print("unit: %d passed, %d failed" % (passed, failed), flush=True)
    return passed, failed


def run_system():
    return run_counted([sys.executable, os.path.join(HERE, "system", "run.py")])


def run_vm():
    """QEMU guests on vrelayd (tests/vm): the virtual-NIC plan and migration."""
    return run_counted([sys.executable, os.path.join(HERE, "system", "run.py"), "--dir",
                        os.path.join(HERE, "vm")])


def run_fuzz(build):
    """libFuzzer on the request decoders and both config parsers, bounded
    (VRELAY_FUZZ_SECONDS per target, default 60)."""
    return run_counted([sys.executable, os.path.join(HERE, "fuzz", "run.py"), "--build", build])


def run_counted(argv):
    """Stream a runner's output; its last line is 'N passed, N failed'."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    last = ""
    for line in p.stdout:
        sys.stdout.write(line)
        sys.stdout.flush()
        if line.strip():
            last = line
    p.wait()
    m = re.match(r"(\d+) passed, (\d+) failed", last)
    if not m:
        return 0, 1
    return int(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    fmp, fmf = run_format()
    up, uf = run_unit(args.build)
    up, uf = up + fmp, uf + fmf
    sp, sf = run_system()
    vp, vf = run_vm()
    fp, ff = run_fuzz(args.build)
    print("%d passed, %d failed" % (up + sp + vp + fp, uf + sf + vf + ff))
    return 1 if uf + sf + vf + ff else 0


if __name__ == "__main__":
    sys.exit(main())
