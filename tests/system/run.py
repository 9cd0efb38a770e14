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


def discover(here, names):
    sys.path.insert(0, here)
    mods = names or sorted(f[:-3] for f in os.listdir(here)
                           if f.startswith("test_") and f.endswith(".py"))
    for m in mods:
        mod = importlib.import_module(m)
        for name in sorted(vars(mod)):
            if name.startswith("test_") and callable(getattr(mod, name)):
                yield m, mod, name, getattr(mod, name)


class Shared:
    """A module's shared(scratch) fixture (booted guests, say), made when
    its first test runs and torn down after its last. A fixture that failed
    to come up fails each of the module's tests with its reason."""

    def __init__(self):
        self.mod = None
        self.scratch = None
        self.value = None
        self.error = None

    def get(self, mod):
        if mod is not self.mod:
            self.close()
            self.mod = mod
            if hasattr(mod, "shared"):
                self.scratch = vrtest.Scratch(mod.__name__[5:25] + "-shared")
                try:
                    self.value = mod.shared(self.scratch)
                except Exception as e:  # noqa: BLE001 - reported by every test
                    self.error = e
        if self.error is not None:
            raise vrtest.TestFailure("shared fixture of %s: %s" % (mod.__name__, self.error))
        return self.value

    def logs(self):
        return self.scratch.logs() if self.scratch else ""

    def close(self):
        if self.scratch is not None:
            self.scratch.cleanup()
        self.mod = self.scratch = self.value = self.error = None


def main():
    # a runner stopped by SIGTERM/SIGHUP still cleans up (finally blocks run)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit(130))
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", default="")
    ap.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)),
                    help="directory of test_*.py modules (tests/vm for the VM tests)")
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args()
    passed = failed = 0
    shared = Shared()
    for modname, mod, name, fn in discover(args.dir, args.modules):
        full = "%s.%s" % (modname, name)
        if args.k not in full:
            continue
        s = vrtest.Scratch(name[5:25])
        t0 = time.monotonic()
        try:
            s.shared = shared.get(mod)
            fn(s)
            passed += 1
            print("PASS %s (%.1fs)" % (full, time.monotonic() - t0), flush=True)
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            failed += 1
            print("FAIL %s (%.1fs): %s" % (full, time.monotonic() - t0, e), flush=True)
            if not isinstance(e, vrtest.TestFailure):
                traceback.print_exc()
            print((shared.logs() + "\n" + s.logs())[-8000:], flush=True)
        finally:
            s.cleanup()
    shared.close()
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
