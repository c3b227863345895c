# The two commands: `make run` and `make test`. Each installs what is missing first.
# `make install PREFIX=DIR` copies the built binary to DIR/bin/vouch (default /usr/local/bin/vouch).
SHELL := /bin/bash
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
LISTEN ?= 127.0.0.1:5000
DATA_DIR ?= ./vouch-data
PREFIX ?= /usr/local
BIN := build/release/vouch

# Said once, before the first build (no binary yet): how long it takes, and for `make run` that the
# server then holds this terminal. Measured: a cold build of every target at -j2 with CCACHE_DISABLE=1
# took 13 min 22 s of CPU (user + sys), so about 7 minutes of wall time on two idle cores.
FIRST_BUILD := $(if $(wildcard $(BIN)),,yes)
FIRST_BUILD_NOTE := First build: about 170 steps, about 7 minutes on two cores; the [n/170] lines \
show progress. Later builds recompile only what changed (and ccache remembers the rest).
RUN_NOTE := make run then serves in this terminal and holds it until Ctrl-C: open a second terminal \
for the commands of README.md, section Using it.

.PHONY: all deps build run test unit asan integration format format-check bench clean venv install \
	uninstall

all: build

deps:
	@scripts/install-deps

build: deps
ifeq ($(FIRST_BUILD),yes)
	@echo "$(FIRST_BUILD_NOTE)"
	@$(if $(filter run,$(MAKECMDGOALS)),echo "$(RUN_NOTE)",true)
endif
	@cmake -S . -B build/release -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DVOUCH_WERROR=ON >/dev/null
	@cmake --build build/release -j $(JOBS)

run: build
ifneq ($(FIRST_BUILD),yes)
	@echo "$(RUN_NOTE)"
endif
	@$(BIN) serve --data-dir $(DATA_DIR) --listen $(LISTEN)

# The binary is self-contained (no data files); `vouch serve`'s start-up hint names `vouch` once the
# first `vouch` on PATH is this build.
install: build
	@install -d "$(DESTDIR)$(PREFIX)/bin"
	@install -m 0755 $(BIN) "$(DESTDIR)$(PREFIX)/bin/vouch"
	@echo "installed $(DESTDIR)$(PREFIX)/bin/vouch"
	@found=$$(command -v vouch || true); \
	if [ "$$found" != "$(DESTDIR)$(PREFIX)/bin/vouch" ]; then \
	  echo "note: a shell here runs $${found:-no vouch at all}; put $(DESTDIR)$(PREFIX)/bin first in PATH"; \
	fi

uninstall:
	rm -f "$(DESTDIR)$(PREFIX)/bin/vouch"

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
