# filetrail: the one entry point. `make demo` runs the pipeline locally; `make test` runs every test.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        ?= .venv
PYTHON      ?= python3
MOTO        := moto[server]==5.2.5
ADVISORY_DB ?= ../shared/advisory-db
CARGO_BIN   := $(HOME)/.cargo/bin
INFRA_VENV  ?= .venv-infra
LINT_VENV   ?= .venv-lint
CARGO_LAMBDA_VERSION := 1.9.2
LAMBDA_ARCH ?= --arm64
LAMBDA_BINS := filetrail-recorder filetrail-sorter filetrail-processor filetrail-auditor

PYTEST      := pytest==9.2.0
HATCHLING   := hatchling==1.33.0
MYPY        := mypy==2.4.1
VERMIN      := vermin==1.9.2

.PHONY: influxdb help venv tools lint-tools demo test test-python lint lint-python fmt bench bench-cost soak fuzz clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

$(VENV)/.stamp: Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet '$(MOTO)'
	touch $@

venv: $(VENV)/.stamp ## Python venv with the pinned emulator

tools: ## the cargo tool the tests need (installed when missing)
	@command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest

# Only `make lint` uses these; each builds from source in minutes on a fresh machine.
lint-tools: ## cargo tools the checks need (installed when missing)
	@command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
	@command -v cargo-audit >/dev/null || cargo install --locked cargo-audit

demo: venv ## the whole pipeline on the local emulator: sort, process, record, trails, counts
	cargo build --bins --quiet
	scripts/with-emulator.sh target/debug/filetrail-demo

# Debian's influxdb package: a real InfluxDB (v1 API) for the InfluxDB sink's tests.
influxdb: ## install influxd when missing
	@command -v influxd >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y influxdb)

test: venv tools influxdb test-python ## every test, unit and integration, against the emulator and a real InfluxDB
	cargo build --bin filetrail-recorder # the crash test (filetrail-soak) runs the real binary
	scripts/with-emulator.sh scripts/with-influxdb.sh cargo nextest run --workspace --all-targets --no-fail-fast

# --- the Python package (python/): pytest in the emulator's venv, against the Rust binaries ------
$(VENV)/.stamp-python: $(VENV)/.stamp python/pyproject.toml
	$(VENV)/bin/pip install --quiet --disable-pip-version-check '$(PYTEST)' '$(HATCHLING)'
	touch $@

test-python: venv $(VENV)/.stamp-python ## the Python package: contract, conformance with Rust (12,000 events), publisher and recorder on the emulator, wheel, layer, fresh install
	cargo build --bin filetrail --bin filetrail-recorder
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation --force-reinstall ./python
	scripts/with-emulator.sh $(VENV)/bin/python -m pytest python/tests -q -p no:cacheprovider
	$(VENV)/bin/python -m pytest scripts/test_cost.py -q -p no:cacheprovider # BENCHMARKS.md's cost arithmetic

# mypy and vermin are lints: their own small venv, so `make test` never installs them and `make
# lint` no emulator.
$(LINT_VENV)/.stamp: Makefile
	rm -rf $(LINT_VENV)
	$(PYTHON) -m venv $(LINT_VENV)
	$(LINT_VENV)/bin/pip install --quiet --disable-pip-version-check '$(MYPY)' '$(VERMIN)'
	touch $@

# The package promises Python >= 3.9 (pyproject), but the tests run on the machine's newer Python
# and mypy 2.x cannot check for 3.9: vermin does, syntax and standard library alike (annotations
# evaluated, as they are without `from __future__ import annotations`; `X | Y` unions too).
VERMIN_39 := $(LINT_VENV)/bin/vermin --target=3.9- --no-tips --violations --eval-annotations --feature union-types

lint-python: $(LINT_VENV)/.stamp ## the Python package: mypy --strict, and nothing newer than Python 3.9 (vermin)
	$(LINT_VENV)/bin/mypy --strict --ignore-missing-imports --no-error-summary --cache-dir target/mypy python/src/filetrail
	$(VERMIN_39) python/src
	@# The same check must refuse code that needs Python 3.10 or later.
	@if $(VERMIN_39) tests/python-lint/needs_python_3_10.py >/dev/null 2>&1; then \
	  echo "the Python 3.9 check did not refuse tests/python-lint/needs_python_3_10.py" >&2; exit 1; \
	else echo "the Python 3.9 check refuses code that needs 3.10: ok"; fi

lint: lint-tools lint-python ## fmt, clippy, function length, licenses/sources, advisories, mypy, then lint-infra
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(PYTHON) scripts/fn_length.py # no function over 80 lines without a `// Long:` reason
	cargo deny check licenses bans sources
	cargo audit --no-fetch --no-yanked --deny warnings --db $(ADVISORY_DB)
	@# The same check must refuse an unmaintained crate (backoff 0.4, RUSTSEC-2025-0012).
	@if cargo audit --no-fetch --no-yanked --deny warnings --db $(ADVISORY_DB) -f tests/audit/Cargo.lock.unmaintained >/dev/null 2>&1; then \
	  echo "advisory check did not refuse tests/audit/Cargo.lock.unmaintained" >&2; exit 1; \
	else echo "advisory check refuses an unmaintained crate: ok"; fi
	$(MAKE) lint-infra

fmt: ## format the code
	cargo fmt --all

# --- proof under faults: filetrail-soak (small versions of each run are part of make test) -----
SOAK_EVENTS   ?= 10000
MATRIX_EVENTS ?= 1000
CRASH_EVENTS  ?= 1000
SEED          ?= 7
FUZZ_CASES    ?= 20000

soak: venv ## soak of 10,000 events under faults, each fault kind alone at 50%, the crash test, an outage
	cargo build --release -p filetrail-soak -p filetrail-recorder --bins
	scripts/with-emulator.sh target/release/filetrail-soak run --events $(SOAK_EVENTS) --seed $(SEED) --json target/soak/soak.json
	scripts/with-emulator.sh target/release/filetrail-soak matrix --events $(MATRIX_EVENTS) --seed $(SEED) --json target/soak/matrix.json
	scripts/with-emulator.sh target/release/filetrail-soak crash --events $(CRASH_EVENTS) --seed $(SEED) --json target/soak/crash.json
	scripts/with-emulator.sh target/release/filetrail-soak run --events $(CRASH_EVENTS) --seed $(SEED) --outage-s 90 --json target/soak/outage.json

fuzz: tools ## fuzz every parser of outside input with FUZZ_CASES cases per target (make test: 256)
	PROPTEST_CASES=$(FUZZ_CASES) cargo nextest run -p filetrail-soak -E 'test(/^fuzz::/)' --no-fail-fast

bench: venv ## every benchmark, the soak runs and the Lambda zips; rewrites BENCHMARKS.md
	SOAK_EVENTS=$(SOAK_EVENTS) MATRIX_EVENTS=$(MATRIX_EVENTS) CRASH_EVENTS=$(CRASH_EVENTS) SEED=$(SEED) \
	  $(PYTHON) scripts/bench.py

bench-cost: ## only the recorder and publisher benches, then only BENCHMARKS.md's cost section
	$(PYTHON) scripts/bench.py --only cost

clean:
	rm -rf target $(VENV) $(LINT_VENV)

# --- infrastructure: static checks of infra/ and the Lambda zips it deploys --------------------
.PHONY: lint-infra package package-python terraform-present

# Two venvs: checkov's bc-python-hcl2 and python-hcl2 both install the module `hcl2`.
$(INFRA_VENV)/test/.stamp: tests/infra/requirements.txt
	rm -rf $(INFRA_VENV)/test
	$(PYTHON) -m venv $(INFRA_VENV)/test
	$(INFRA_VENV)/test/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

$(INFRA_VENV)/checkov/.stamp: tests/infra/requirements-checkov.txt
	rm -rf $(INFRA_VENV)/checkov
	$(PYTHON) -m venv $(INFRA_VENV)/checkov
	$(INFRA_VENV)/checkov/bin/pip install --quiet --disable-pip-version-check -r $<
	touch $@

# Stand-in providers for the real terraform binary (tests/infra/standin): schemas from the
# pinned CDK for Terraform bindings (npm), served from a filesystem mirror; nothing is downloaded
# from a Terraform registry. npm keeps its tarballs in $(STANDIN)/npm.
STANDIN := $(INFRA_VENV)/standin
STANDIN_SRC := tests/infra/standin/npm-packages.txt $(wildcard tests/infra/standin/*.py)

$(STANDIN)/.stamp: $(INFRA_VENV)/test/.stamp $(STANDIN_SRC)
	@command -v npm >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y npm)
	cd tests/infra && $(CURDIR)/$(INFRA_VENV)/test/bin/python -m standin install --out $(CURDIR)/$(STANDIN)
	touch $@

terraform-present:
	@command -v terraform >/dev/null || { echo "terraform (>= 1.6) must be on PATH for make lint-infra" >&2; exit 1; }
	@TF_CLI_CONFIG_FILE=/dev/null terraform version -json | grep -q '"terraform_version": "1\.' || { echo "terraform 1.x needed" >&2; exit 1; }

lint-infra: terraform-present $(INFRA_VENV)/test/.stamp $(INFRA_VENV)/checkov/.stamp $(STANDIN)/.stamp ## static checks of infra/: fmt, validate, plan/apply on stand-in providers, invariants, dashboard, checkov
	TF_CLI_CONFIG_FILE=$(STANDIN)/terraformrc terraform fmt -check -recursive -diff infra
	FILETRAIL_TF_STANDIN=$(CURDIR)/$(STANDIN) $(INFRA_VENV)/test/bin/python -m pytest tests/infra -q -p no:cacheprovider
	$(INFRA_VENV)/checkov/bin/checkov -d infra --framework terraform --quiet --compact --skip-download

# cargo-lambda from PyPI ships its own zig, so cross-linking needs nothing else on the machine.
$(INFRA_VENV)/cargo-lambda/.stamp-$(CARGO_LAMBDA_VERSION):
	rm -rf $(INFRA_VENV)/cargo-lambda
	$(PYTHON) -m venv $(INFRA_VENV)/cargo-lambda
	$(INFRA_VENV)/cargo-lambda/bin/pip install --quiet --disable-pip-version-check 'cargo-lambda==$(CARGO_LAMBDA_VERSION)'
	touch $@

package: $(INFRA_VENV)/cargo-lambda/.stamp-$(CARGO_LAMBDA_VERSION) package-python ## Lambda zips for infra/: target/lambda/<bin>/bootstrap.zip (LAMBDA_ARCH=--x86-64 for x86), the Python wheel and layer
	PATH="$(CURDIR)/$(INFRA_VENV)/cargo-lambda/bin:$$PATH" cargo lambda build --release $(LAMBDA_ARCH) --output-format zip $(addprefix --bin ,$(LAMBDA_BINS))

package-python: ## the Python package: target/python/filetrail-<version>-py3-none-any.whl and filetrail-python-layer.zip
	$(PYTHON) python/tools/build_layer.py target/python
