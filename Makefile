# prodready.platform — entry points. `make demo` and `make test` work on a fresh Debian 12
# machine as root: they install what they need (apt packages, venv, Docker engine, images).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# The venv lives in a cache keyed by the requirements, so fresh clones on the same machine
# reuse it; .venv is a link to it.
VENV_CACHE ?= /var/cache/prodready-venvs
REQ_HASH := $(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-12)
VENV_DIR := $(VENV_CACHE)/$(REQ_HASH)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAGE := tools/stage.sh
export PATH := $(BIN):$(PATH)
export MOLECULE_GLOB := molecule/*/molecule.yml
export ANSIBLE_COLLECTIONS_PATH := $(CURDIR)/collections
export ANSIBLE_FORCE_COLOR := 0
export PY_COLORS := 0
export NO_COLOR := 1

# Molecule scenarios run by `make test`, in this order. `default` is the site.yml
# composition on one host; `smoke` proves the plumbing.
SCENARIOS ?= $(shell tools/scenarios.sh)

.PHONY: help venv check check-stages lint sanity unit rules build test test-vm molecule demo demo-rebaseline demo-faults clean testbed services

help:
	@echo "make demo      deploy the stack onto local systemd test hosts and print where to look"
	@echo "make demo EXAMPLE=name   the same with a reference inventory: $(EXAMPLES)"
	@echo "make test      full tier: check + every Molecule scenario"
	@echo "make check     fast tier: yamllint, ansible-lint, ansible-test sanity, unit tests"
	@echo "make molecule SCENARIO=name   one Molecule scenario"
	@echo "make test-vm   real-kernel tier: hardening + compliance on Debian 12/13 QEMU VMs over SSH (not in make test)"
	@echo "make demo-rebaseline  after a demo re-run with a changed collection: accept the integrity violations"
	@echo "                  it reports (playbooks/integrity_rebaseline.yml on those hosts; DEMO_REBASELINE=1 make demo too)"
	@echo "make demo-faults  after make demo: break nginx, an app host, S3; alerts must arrive and resolve"
	@echo "make clean     remove test hosts, the test network and the local S3/ACME"

$(VENV)/.ready: requirements.txt requirements-dev.txt
	@$(STAGE) venv bash -ec '\
	  if [ ! -f "$(VENV_DIR)/.complete" ]; then \
	    rm -rf "$(VENV_DIR)"; mkdir -p "$(VENV_CACHE)"; \
	    $(PYTHON) -m venv "$(VENV_DIR)"; \
	    "$(VENV_DIR)/bin/pip" install -q --upgrade pip; \
	    "$(VENV_DIR)/bin/pip" install -q -r requirements-dev.txt; \
	    touch "$(VENV_DIR)/.complete"; \
	  fi; \
	  ln -sfn "$(VENV_DIR)" $(VENV); touch $(VENV)/.ready'

venv: $(VENV)/.ready

lint: venv
	@$(STAGE) yamllint $(BIN)/yamllint --strict .
	@$(STAGE) variables-doc $(BIN)/python tools/gen-variables.py --check
	@$(STAGE) cis-coverage $(BIN)/python tools/gen-compliance-coverage.py --check
	@$(STAGE) ansible-lint $(BIN)/ansible-lint --profile production --strict

sanity: venv
	@$(STAGE) ansible-test-sanity tools/sanity.sh

unit: venv
	@$(STAGE) unit-tests $(BIN)/pytest -q tests/unit

rules: venv
	@$(STAGE) promtool-rules tools/promtool-tests.sh

build: venv
	@$(STAGE) collection-build tools/build-check.sh

# The fast tier's stages are independent: run them side by side (each keeps its own output
# block and stage time): 112 s on an idle 2-core machine (214 s at load 7), was ~5 minutes
# one after the other.
check: venv
	@start=$$(date +%s); $(MAKE) --no-print-directory -j3 --output-sync=target check-stages; \
	  echo "make check: all stages ok in $$(( $$(date +%s) - start )) s"

check-stages: lint sanity unit rules build

testbed: venv
	@$(STAGE) testbed tools/testbed.sh up

services: testbed
	@$(STAGE) local-services tools/localsvc.sh start all

molecule: venv testbed
	@test -n "$(SCENARIO)" || { echo "usage: make molecule SCENARIO=name"; exit 2; }
	@$(STAGE) molecule-$(SCENARIO) $(BIN)/molecule test -s $(SCENARIO)

test: check testbed
	@tools/molecule-all.sh $(SCENARIOS)

# The real-kernel tier (docs/development.md, "Real-kernel tier"): QEMU VMs under TCG, one at a
# time; what containers cannot show. Too slow for `make test`'s budget, so a target of its own.
test-vm: venv
	@$(STAGE) test-vm tests/vm/run.sh

# `make demo EXAMPLE=<system>`: one of the reference inventories of inventories/examples/ instead
# of inventories/demo (each example's README maps its system's requirements to variables).
EXAMPLES := $(sort $(patsubst inventories/examples/%/hosts.yml,%,$(wildcard inventories/examples/*/hosts.yml)))
ifneq ($(EXAMPLE),)
ifeq ($(filter $(EXAMPLE),$(EXAMPLES)),)
$(error unknown EXAMPLE=$(EXAMPLE); the examples are: $(EXAMPLES) (inventories/examples/))
endif
DEMO_ENV := DEMO_INVENTORY=inventories/examples/$(EXAMPLE)
endif

demo: venv testbed
	@$(DEMO_ENV) $(STAGE) demo tools/demo.sh

# The files a changed collection deploys show as integrity violations on the next `make demo`
# (by design); this accepts them on the hosts that report them, after showing the drift.
demo-rebaseline: venv
	@$(DEMO_ENV) $(STAGE) demo-rebaseline tools/demo.sh rebaseline

# Fault drill against the running demo: stop nginx, an app host, the S3 endpoint; the alerts
# must reach a webhook receiver and resolve after the repair (docs/demo-faults.md).
demo-faults: venv
	@$(STAGE) demo-faults tools/demo-faults.sh

clean:
	@tools/localsvc.sh stop all
	@tools/testbed.sh clean
