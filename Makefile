# The README's commands. Each target installs what it needs first.
BUILD ?= build
PY := /usr/bin/python3

.PHONY: all deps build hugepages test unit system vm demo bench soak clean format format-check

all: build

deps:
	@tools/vrelay-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

hugepages:
	@tools/vrelay-hugepages 1024

# Formatting (clang-format), unit tests (cmocka, ASan/UBSan), system tests
# (DPDK processes, no VM), VM tests (QEMU guests) and bounded fuzzing; ends
# with the line 'N passed, N failed'.
test: build hugepages
	@VRELAY_BUILD=$(abspath $(BUILD)) $(PY) tests/run_all.py --build $(BUILD)

unit: build
	meson test -C $(BUILD) --suite unit --print-errorlogs

vm: build hugepages
	VRELAY_BUILD=$(abspath $(BUILD)) $(PY) tests/system/run.py --dir tests/vm

system: build hugepages
	VRELAY_BUILD=$(abspath $(BUILD)) $(PY) tests/system/run.py

demo: build hugepages
	@VRELAY_BUILD=$(abspath $(BUILD)) $(PY) tools/demo.py

# Everything at once under ASan/UBSan for VRELAY_SOAK_MINUTES (30); not in
# make test (tests/soak/run.py says what it does and checks)
ASAN_BUILD = build-asan
soak: deps hugepages
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Dtests=false -Dbuildtype=debugoptimized
	ninja -C $(ASAN_BUILD)
	@VRELAY_BUILD=$(abspath $(ASAN_BUILD)) $(PY) tests/soak/run.py

bench: build hugepages
	@VRELAY_BUILD=$(abspath $(BUILD)) $(PY) bench/run.py

C_FILES = $(shell git ls-files '*.c' '*.h')

format:
	clang-format -i $(C_FILES)

# fails on any difference from .clang-format (make test runs it too)
format-check:
	clang-format --dry-run --Werror $(C_FILES)

clean:
	rm -rf $(BUILD)
