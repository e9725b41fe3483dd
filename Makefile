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
NODE_TEST := node --import tsx --test --test-reporter=spec

.PHONY: all deps bpf native ts lint typecheck test fuzz bench demo clean install
all: deps bpf native ts

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

# `make fuzz`: the fuzzers for long, and the hostile-network lab with floods ten times make test's.
fuzz: all
	ANYCASTD_FUZZ=long $(NODE_TEST) $(shell find test -name '*.fuzz.test.ts' | sort)
	ANYCASTD_HOSTILE_FLOOD=20000 $(NODE_TEST) test/e2e/hostile.test.ts

bench: all
	node --import tsx bench/run.ts

# The product from dist/ (no tsx) runs the lab's demo of this checkout (lab/demo.ts, with tsx).
demo: all
	node dist/src/cli/main.js demo

# `make install`: a wrapper running dist/src/cli/main.js of this tree, the man page, the systemd unit
# (its paths pointed at PREFIX), the sysusers.d file creating the group `anycastd` (created at once when
# installing into /), bash completion and the example config (never over an existing one).
PREFIX ?= /usr/local
SYSTEMD_DIR ?= /etc/systemd/system
SYSUSERS_DIR ?= /usr/lib/sysusers.d
COMPLETION_DIR ?= /usr/share/bash-completion/completions
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(COMPLETION_DIR) $(DESTDIR)/etc/anycastd
	printf '#!/bin/sh\nexec %s %s "$$@"\n' "$$(command -v node)" "$(CURDIR)/dist/src/cli/main.js" > $(DESTDIR)$(PREFIX)/bin/anycastd
	chmod 755 $(DESTDIR)$(PREFIX)/bin/anycastd
	install -m 644 man/anycastd.8 $(DESTDIR)$(PREFIX)/share/man/man8/anycastd.8
	install -m 644 completions/anycastd.bash $(DESTDIR)$(COMPLETION_DIR)/anycastd
	if [ -f packaging/anycastd.service ]; then install -d $(DESTDIR)$(SYSTEMD_DIR) && \
	  sed 's|/usr/bin/anycastd|$(PREFIX)/bin/anycastd|g' packaging/anycastd.service > $(DESTDIR)$(SYSTEMD_DIR)/anycastd.service; fi
	install -d $(DESTDIR)$(SYSUSERS_DIR)
	install -m 644 packaging/anycastd.sysusers $(DESTDIR)$(SYSUSERS_DIR)/anycastd.conf
	if [ -z "$(DESTDIR)" ] && command -v systemd-sysusers >/dev/null; then \
	  systemd-sysusers $(SYSUSERS_DIR)/anycastd.conf; fi
	if [ -f examples/anycastd.yaml ] && [ ! -e $(DESTDIR)/etc/anycastd/anycastd.yaml ]; then \
	  install -m 640 examples/anycastd.yaml $(DESTDIR)/etc/anycastd/anycastd.yaml; fi

clean:
	rm -rf build dist native/build .stamp-deps
