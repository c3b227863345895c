# The two commands: `make run` and `make test`. Each installs what is missing first.
SHELL := /bin/bash
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:5000
DATA_DIR ?= ./vouch-data

.PHONY: all deps build run test unit asan integration format format-check bench clean venv

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DVOUCH_WERROR=ON >/dev/null
	@cmake --build build/release -j $(JOBS)

run: build
	@build/release/vouch serve --data-dir $(DATA_DIR) --listen $(LISTEN)

venv: deps
	@scripts/python-env

test: deps
	@scripts/test

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

format-check:
	@git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror

bench: build venv
	@scripts/bench

clean:
	rm -rf build
