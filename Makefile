# filetrail: the one entry point. `make demo` runs the pipeline locally; `make test` runs every test.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV        ?= .venv
PYTHON      ?= python3
MOTO        := moto[server]==5.2.5
ADVISORY_DB ?= ../shared/advisory-db
CARGO_BIN   := $(HOME)/.cargo/bin

.PHONY: help venv tools test lint fmt bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s "$$(printf '\t')"

$(VENV)/.stamp: Makefile
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet '$(MOTO)'
	touch $@

venv: $(VENV)/.stamp ## Python venv with the pinned emulator

tools: ## cargo tools the checks need (installed when missing)
	@command -v cargo-nextest >/dev/null || cargo install --locked cargo-nextest
	@command -v cargo-deny >/dev/null || cargo install --locked cargo-deny
	@command -v cargo-audit >/dev/null || cargo install --locked cargo-audit

test: venv tools ## every test, unit and integration, against the emulator
	scripts/with-emulator.sh cargo nextest run --workspace --all-targets --no-fail-fast
	cargo test --workspace --doc

lint: tools ## fmt, clippy, licenses/sources, advisories
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo deny check licenses bans sources
	cargo audit --no-fetch --no-yanked --deny warnings --db $(ADVISORY_DB)

fmt: ## format the code
	cargo fmt --all

bench: ## benchmarks (figures go into BENCHMARKS.md)
	cargo bench -p filetrail-contract

clean:
	rm -rf target $(VENV)
