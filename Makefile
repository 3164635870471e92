# QuackTracks — front door. `make run` and `make test` install what is missing, build, then
# serve or test. The binary lands in build/release/bin/quacktracks.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
RELEASE := build/release
DEBUG := build/debug
CORPUS ?= /tmp/quack-corpus

.PHONY: deps web wasm test-env run-scaled build build-debug run test test-release test-sanitize corpus bench clean format

deps:
	@bash scripts/install-deps.sh

# The browser UI (web/dist, served by `quacktracks serve`). npm ci runs only when node_modules
# is missing or the lockfile is newer than the last install.
web: deps web/node_modules/.package-lock.json
	@cd web && npm run --silent build

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

# Real components the service tests run against (tests/env: s3rver, aws4), by npm ci.
test-env: tests/env/node_modules/.package-lock.json

tests/env/node_modules/.package-lock.json: tests/env/package-lock.json
	cd tests/env && npm ci --no-audit --no-fund
	@touch $@

# The engine as WebAssembly (build/wasm/quack_engine.{mjs,wasm}; engine/wasm/README.md). Debian's
# emscripten runs under the machine's Node, which needs Debian's module folder for acorn.
wasm: deps
	@NODE_PATH=/usr/share/nodejs emcmake cmake -S engine/wasm -B build/wasm -G Ninja >/dev/null
	@NODE_PATH=/usr/share/nodejs cmake --build build/wasm -j $(JOBS)

build: deps web wasm
	@cmake --preset release >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

build-debug: deps
	@cmake --preset debug >/dev/null
	@cmake --build $(DEBUG) -j $(JOBS)

run: build
	$(RELEASE)/bin/quacktracks serve --port 8080 --data-dir ./data --web-root web/dist

# The scaled-out setup on one machine: PostgreSQL + an S3 server + the API + $(WORKERS) workers.
WORKERS ?= 2
PORT ?= 8080
run-scaled: build test-env
	bash scripts/run-scaled.sh $(WORKERS) $(PORT)

# The corpus of real music (../shared/tools/make-corpus); corpus tests use it when present.
corpus:
	@bash scripts/corpus.sh $(CORPUS)

test: build build-debug corpus test-env
	@$(MAKE) --no-print-directory test-release test-sanitize

test-release:
	QUACK_CORPUS=$(CORPUS) ctest --test-dir $(RELEASE) --output-on-failure -j $(JOBS)

# ASan+UBSan build of the same suite; the slow whole-corpus tests run in release only.
test-sanitize:
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(DEBUG) --output-on-failure -j $(JOBS) -LE corpus

bench: build corpus
	bash bench/run-all.sh $(CORPUS)

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build
