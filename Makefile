# CooCenter S10 firmware tree: host-side verbs.
# `make run` and `make test` do all of their own set-up on a fresh Debian machine.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
DATA   ?= var
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

# Debian packages the tests drive as real SIP peers and audio tools.
TEST_DEBS := sip-tester baresip sox
BENCH_DEBS := kamailio

.PHONY: run dev test bench lint deps-test deps-bench venv clean-venv

$(VENV)/.stamp: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[test,bench]'
	touch $@

venv: $(VENV)/.stamp

run: venv
	mkdir -p $(DATA)
	$(VENV)/bin/pbxd --data-dir $(DATA)

dev: venv
	mkdir -p $(DATA)
	$(VENV)/bin/pbxd --data-dir $(DATA) --reload

deps-test:
	@missing=""; for p in $(TEST_DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  $(SUDO) apt-get update -q && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $$missing; \
	fi

deps-bench: deps-test
	@dpkg -s $(BENCH_DEBS) >/dev/null 2>&1 || (DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(BENCH_DEBS))

test: venv deps-test
	$(VENV)/bin/ruff check pbxd tests benchmarks
	$(PY) -m pytest -q

bench: venv deps-bench
	$(PY) -m benchmarks

lint: venv
	$(VENV)/bin/ruff check pbxd tests benchmarks
	$(VENV)/bin/ruff format --check pbxd tests benchmarks

clean-venv:
	rm -rf $(VENV)
