#!/usr/bin/python3
"""Run vrelay's system tests: run.py [-k SUBSTRING] [module ...].

Each test_* function gets a fresh Scratch (directory, DPDK prefixes) that is
cleaned up whatever happens. Prints one line per test and a final
'N passed, N failed' line; exits non-zero when any test failed.
"""

import argparse
import importlib
import os
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vrtest  # noqa: E402


def discover(names):
    here = os.path.dirname(os.path.abspath(__file__))
    mods = names or sorted(f[:-3] for f in os.listdir(here)
                           if f.startswith("test_") and f.endswith(".py"))
    for m in mods:
        mod = importlib.import_module(m)
        for name in sorted(vars(mod)):
            if name.startswith("test_") and callable(getattr(mod, name)):
                yield m, name, getattr(mod, name)


def main():
    # a runner stopped by SIGTERM/SIGHUP still cleans up (finally blocks run)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="")
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args()
    passed = failed = 0
    for mod, name, fn in discover(args.modules):
        full = "%s.%s" % (mod, name)
        if args.k not in full:
            continue
        s = vrtest.Scratch(name[5:25])
        t0 = time.monotonic()
        try:
            fn(s)
            passed += 1
            print("PASS %s (%.1fs)" % (full, time.monotonic() - t0), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            failed += 1
            print("FAIL %s (%.1fs): %s" % (full, time.monotonic() - t0, e), flush=True)
            if not isinstance(e, vrtest.TestFailure):
                traceback.print_exc()
            print(s.logs()[-6000:], flush=True)
        finally:
            s.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
