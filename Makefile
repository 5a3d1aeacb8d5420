# CooCenter S10 firmware tree: host-side verbs.
# `make run` and `make test` do all of their own set-up on a fresh Debian machine.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
DATA   ?= var
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian libraries the media engine loads (cffi, ABI mode: no compiler, no -dev packages).
RUN_DEBS := libspandsp2 libgsm1 libopus0
# Debian packages the tests drive as real SIP peers and audio tools.
# The firmware tools' fast tests run the board scripts for real on tiny stand-ins.
TEST_DEBS := $(RUN_DEBS) sip-tester baresip sox espeak-ng \
	busybox-static dash genimage mtools dosfstools e2fsprogs squashfs-tools \
	chromium fonts-wqy-microhei
# The web console is bundled from npm packages by Node.js (ui/, tools/ui/build.py).
UI_DEBS := nodejs npm
BENCH_DEBS := kamailio rtpengine-daemon

.PHONY: run dev test bench lint deps-run deps-test deps-bench apt-install venv clean-venv prompts \
	ui deps-ui

# One stamp per set of extras: `make run` installs only what the daemon needs.
$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

$(VENV)/.stamp-run: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[webrtc]'
	touch $@

$(VENV)/.stamp-test: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[test]'
	touch $@

$(VENV)/.stamp-bench: pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[test,bench]'
	touch $@

venv: $(VENV)/.stamp-test

run: $(VENV)/.stamp-run deps-run prompts ui
	mkdir -p $(DATA)
	$(VENV)/bin/pbxd --data-dir $(DATA) --prompts-dir $(PROMPTS)

dev: $(VENV)/.stamp-run deps-run prompts ui
	mkdir -p $(DATA)
	$(VENV)/bin/pbxd --data-dir $(DATA) --prompts-dir $(PROMPTS) --reload

# The system prompts (zh, en) and music on hold, rendered by espeak-ng at build time only.
PROMPTS := build/prompts
prompts: $(VENV)/.stamp-run
	@$(MAKE) --no-print-directory apt-install DEBS="espeak-ng"
	$(PY) -m tools.prompts.generate $(PROMPTS) --langs zh,en

# The web console, served by pbxd from build/ui (pbxd --ui-dir).
ui: $(VENV)/.stamp-run deps-ui
	$(PY) -m tools.ui.build --out build/ui

# Node.js from Debian unless a node and npm are already there (e.g. NodeSource's, whose
# nodejs package carries npm and conflicts with Debian's npm).
deps-ui:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || \
	  $(MAKE) --no-print-directory apt-install DEBS="$(UI_DEBS)"

deps-run:
	@$(MAKE) --no-print-directory apt-install DEBS="$(RUN_DEBS)"

deps-test:
	@$(MAKE) --no-print-directory apt-install DEBS="$(TEST_DEBS)"

# Installs the Debian packages in DEBS that are missing (apt lists refreshed only then).
apt-install:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

deps-bench:
	@$(MAKE) --no-print-directory apt-install DEBS="$(TEST_DEBS) $(BENCH_DEBS)"

# Everything: lint, the tests on the host, then the firmware image booted under QEMU.
test: $(VENV)/.stamp-test deps-test prompts ui
	$(VENV)/bin/ruff check pbxd tests benchmarks tools board
	$(PY) -m pytest -q -m "not qemu"
	@$(MAKE) --no-print-directory test-qemu

bench: $(VENV)/.stamp-bench deps-bench deps-ui prompts
	$(PY) -m benchmarks

lint: $(VENV)/.stamp-test
	$(VENV)/bin/ruff check pbxd tests benchmarks tools board
	$(VENV)/bin/ruff format --check pbxd tests benchmarks

clean-venv:
	rm -rf $(VENV)
include firmware.mk
