# anycastd build. `make` builds everything from a fresh clone; `make test` builds and runs every test.
SHELL := /bin/bash
NODE_BIN := node_modules/.bin
BPF_SRC := $(wildcard bpf/*.bpf.c)
BPF_OBJ := $(patsubst bpf/%.bpf.c,build/bpf/%.bpf.o,$(BPF_SRC))
BPF_HDR := $(wildcard bpf/*.h)
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu
ADDON := native/build/Release/anycastd.node
NATIVE_SRC := $(wildcard native/src/*.cc native/src/*.h) native/binding.gyp
TS_SRC := $(shell find src -name '*.ts' 2>/dev/null)
TESTS ?= $(shell find test -name '*.test.ts' | sort)
# The unit tier: every test file but those named *.root.test.ts / *.netns.test.ts (they need root: BPF,
# namespaces, accounts, mounts), *.slow.test.ts (no root, but a build or real-time trials) and the lab's
# test/e2e/. It runs unprivileged: as root, `make test-unit` drops to nobody, so a test that needs root
# and is not named so fails here.
UNIT_TESTS := $(shell find test -name '*.test.ts' ! -name '*.root.*' ! -name '*.netns.*' ! -name '*.slow.*' \
	! -path 'test/e2e/*' | sort)
UNIT_USER := nobody
# One node process for the whole tier (test/unit-tier.ts imports each file into a suite of its own, one
# after another, as one process per file did): one node start and one TypeScript load of src/ instead of
# 66. --test-force-exit: a failed test that left a timer or socket open ends the run instead of holding it.
UNIT_RUN = ANYCASTD_UNIT_FILES="$(UNIT_TESTS)" $(NODE_TEST) --test-force-exit test/unit-tier.ts
NODE_TEST := node --import tsx --test --test-reporter=spec

.PHONY: all deps bpf native ts lab-tools lint typecheck test test-unit fuzz bench katran demo clean install deb
all: deps bpf native ts lab-tools

deps: .stamp-deps node_modules/.package-lock.json
.stamp-deps: scripts/install-deps.sh
	@scripts/install-deps.sh
	@touch $@
node_modules/.package-lock.json: package-lock.json package.json
	node scripts/lockfile-stubs.mjs
	npm ci --no-audit --no-fund --loglevel=error

bpf: $(BPF_OBJ)
build/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDR) | .stamp-deps
	@mkdir -p build/bpf
	clang -O2 -g -target bpf -Wall -Werror -I$(ARCH_INC) -c $< -o $@

# The lab's C tools (test bed, not product): the bounded SYN generator.
lab-tools: build/lab/syn-flood
build/lab/syn-flood: lab/syn-flood.c | .stamp-deps
	@mkdir -p build/lab
	clang -O2 -Wall -Wextra -Werror -o $@ $<

native: $(ADDON)
$(ADDON): $(NATIVE_SRC) | deps
	cd native && ../$(NODE_BIN)/node-gyp rebuild --nodedir=/usr --loglevel=error >/dev/null

# dist/ is the product alone (tsconfig.build.json: src/ only), run by plain node; tsconfig.json type-checks
# everything (src, test, bench, lab, model) without emitting.
ts: dist/.stamp
dist/.stamp: $(TS_SRC) tsconfig.json tsconfig.build.json | deps
	rm -rf dist
	$(NODE_BIN)/tsc -p tsconfig.build.json
	@touch $@

typecheck: | deps
	$(NODE_BIN)/tsc -p tsconfig.json

lint: | deps
	$(NODE_BIN)/biome check .

test: all lint typecheck
	$(NODE_TEST) $(TESTS)

# `make test-unit`: the unit tier without root (needs a build: the addon and BPF objects are
# read by some of its tests, never loaded). HOME and the tsx cache go to a fresh directory nobody owns.
test-unit: all
	@if [ "$$(id -u)" = 0 ]; then \
	  home=$$(mktemp -d /tmp/acd-unit-XXXXXX) && chown $(UNIT_USER) $$home && \
	  setpriv --reuid=$(UNIT_USER) --regid=nogroup --clear-groups env HOME=$$home TMPDIR=$$home \
	    $(UNIT_RUN); rc=$$?; rm -rf $$home; exit $$rc; \
	else $(UNIT_RUN); fi

# `make fuzz`: the fuzzers for long, and the hostile-network lab with floods ten times make test's.
fuzz: all
	ANYCASTD_FUZZ=long $(NODE_TEST) $(shell find test -name '*.fuzz.test.ts' | sort)
	ANYCASTD_HOSTILE_FLOOD=20000 $(NODE_TEST) test/e2e/hostile.test.ts

# Katran's balancer (bench/katran/, vendored, GPL-2.0): the new-flow bench's baseline only, never shipped.
# Built as Katran builds it (katran/lib/Makefile-bpf): host clang to LLVM IR, llc to BPF.
KATRAN_DIR := bench/katran
KATRAN_OBJ := build/bench/katran_balancer.bpf.o
$(KATRAN_OBJ): $(shell find $(KATRAN_DIR) -name '*.[ch]') | .stamp-deps
	@mkdir -p build/bench
	set -o pipefail; clang -I$(KATRAN_DIR)/katran/lib/linux_includes -I$(KATRAN_DIR) -DDEBUG -D__KERNEL__ \
	  -Wno-unused-value -Wno-pointer-sign -Wno-compare-distinct-pointer-types -O2 -emit-llvm -c -g \
	  $(KATRAN_DIR)/katran/lib/bpf/balancer.bpf.c -o - | llc -march=bpf -filetype=obj -o $@
katran: $(KATRAN_OBJ)

bench: all katran
	node --import tsx bench/run.ts

# The product from dist/ (no tsx) runs the lab's demo of this checkout (lab/demo.ts, with tsx).
demo: all
	node dist/src/cli/main.js demo

# `make deb`: build/anycastd_<version>_<arch>.deb (scripts/build-deb.sh: dist/, production node_modules,
# the addon and BPF object under /usr/lib/anycastd, /usr/bin/anycastd, the unit, sysusers.d, man page,
# completion, the example as a conffile; Depends: nodejs (>= 20) and the addon's libraries). The package
# is how a server gets anycastd (docs/DEPLOYING.md): build it here, copy it, `apt install ./anycastd_*.deb`
# there — no compiler, FRR, BIRD or Prometheus on the server. `make install` installs that package here.
deb: all
	scripts/build-deb.sh build
	@ls -l build/anycastd_*.deb

install: deb
	apt-get install -y ./build/anycastd_$$(node -p "require('./package.json').version")_$$(dpkg --print-architecture).deb

clean:
	rm -rf build dist native/build .stamp-deps
