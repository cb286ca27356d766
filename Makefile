# The README's two commands: `make run` and `make test`. Everything else is a helper.
DATA     ?= ./data
LISTEN   ?= 0.0.0.0:8080
FUZZ_SECONDS ?= 15
JOBS     ?= $(shell nproc)

.PHONY: all build run test deps test-deps release asan tsan tsan-test fuzz unit integration fuzz-smoke check clean bench-api bench-vod bench-admin deb bench-tls bench-archive bench-memory web

all: build

deps:
	@scripts/install-deps.sh build

test-deps:
	@scripts/install-deps.sh test
	@scripts/npm-deps.sh

build: deps web
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS)

# The web panel (web/ -> web/dist, served by xtreamd at /): npm ci when the
# lockfile changed, a rebuild when a source changed (scripts/web-build.sh).
web:
	@scripts/web-build.sh

run: build
	@build/xtreamd demo --data $(DATA)
	@exec build/xtreamd serve --data $(DATA) --listen $(LISTEN)

# The optimised build `make run` uses: -O2 finds warnings (-Werror) the Debug build does not.
release:
	@cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DXTREAMD_TESTS=OFF >/dev/null
	@cmake --build build -j $(JOBS)

asan:
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXTREAMD_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

# ThreadSanitizer build (its own tree: TSan and ASan cannot share a process); tsan-test runs
# the unit tests and the threaded integration files on it (scripts/run-tsan.sh).
tsan:
	@cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DXTREAMD_TSAN=ON >/dev/null
	@cmake --build build-tsan -j $(JOBS)

tsan-test: tsan
	@scripts/run-tsan.sh

fuzz:
	@cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
		-DXTREAMD_FUZZ=ON >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

check:
	@scripts/check-style.sh
	@scripts/check-layers.sh
	@scripts/test-check-layers.sh

# dist/xtreamd_<version>_<arch>.deb from the release binary (scripts/make-deb.sh);
# tests/integration/package.test.mjs builds and checks it inside `make test`.
deb: release web
	@scripts/make-deb.sh

unit: asan
	@ctest --test-dir build-asan --output-on-failure -j $(JOBS)

integration: asan web
	@XTREAMD_BIN=$(CURDIR)/build-asan/xtreamd scripts/run-integration-both.sh

fuzz-smoke: fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz-smoke.sh build-fuzz

test: test-deps
	@$(MAKE) --no-print-directory check
	@$(MAKE) --no-print-directory release
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration
	@$(MAKE) --no-print-directory tsan-test
	@$(MAKE) --no-print-directory fuzz-smoke

bench-api: build
	@bench/api/run.sh

bench-vod: build
	@bench/vod/run.sh

bench-admin: build
	@bench/admin/run.sh

bench-tls: build
	@bench/tls/run.sh

bench-archive:
	@bench/archive/run.sh

bench-memory: build
	@bench/memory/run.sh

clean:
	rm -rf build build-asan build-tsan build-fuzz dist
