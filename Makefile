# The README's commands. Each target installs what it needs first.
BUILD ?= build
PY := /usr/bin/python3

.PHONY: all deps build hugepages test unit system vm demo bench clean format

all: build

deps:
	@tools/vrelay-deps

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

hugepages:
	@tools/vrelay-hugepages 1024

# Unit tests (cmocka, ASan/UBSan) and system tests (DPDK processes, no VM);
# ends with the line 'N passed, N failed'.
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

bench: build hugepages
	@VRELAY_BUILD=$(abspath $(BUILD)) $(PY) bench/run.py

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf $(BUILD)
