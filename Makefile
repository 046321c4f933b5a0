# trainbox: `make` builds ./trainbox; `make check` installs deps, builds with -Werror and runs all tests.
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
BIN     ?= trainbox
CC      ?= cc
PKG_CONFIG ?= pkg-config
DEPS    ?= scripts/install-deps.sh
PKGS    := libcurl libarchive libcjson libcrypto zlib expat libisal yaml-0.1
# Nothing that needs the installed packages is evaluated when the Makefile is read: `make demo` and
# `make check` run `deps` first and only then build (in a sub-make), so a fresh machine builds on the
# first run. The flags are asked of pkg-config when the first compile needs them, once (the eval
# turns each into a simple variable), and a package it cannot find stops the build with one line.
pkg_missing = $(foreach p,$(1),$(if $(shell $(PKG_CONFIG) --exists $(p) 2>/dev/null && echo y),,$(p)))
pkg_or_stop = $(if $(filter TB_PKG_OK,$(1)),$(filter-out TB_PKG_OK,$(1)),$(error trainbox: missing build packages ($(or $(strip $(call pkg_missing,$(2))),$(2)) not found by $(PKG_CONFIG)): run 'make deps' (scripts/install-deps.sh) first))
pkg_flags = $(call pkg_or_stop,$(shell $(PKG_CONFIG) $(1) $(2) 2>/dev/null && echo TB_PKG_OK),$(2))
PKG_CFLAGS = $(eval PKG_CFLAGS := $(call pkg_flags,--cflags,$(PKGS)))$(PKG_CFLAGS)
# libcurl, libarchive and libcrypto are not linked: lib/lazy_curl.c, lib/lazy_archive.c and
# lib/lazy_crypto.c load them on first use (together they cost ~8.5 ms at every start); libisal
# (only its header is needed to build) is optional at run time: lib/lazy_isal.c, lib/gunzip.c
PKG_LIBS   = $(eval PKG_LIBS := $(call pkg_flags,--libs,$(filter-out libcurl libarchive libcrypto libisal,$(PKGS))))$(PKG_LIBS)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
CFLAGS  ?= -O2 -g
# project flags stay even when CFLAGS is given on the command line (make asan does)
TB_CFLAGS = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Ilib $(PKG_CFLAGS) -DTB_VERSION='"$(VERSION)"'
# (LDLIBS is not set before, so += keeps it recursive: PKG_LIBS is expanded only by link recipes)
LDLIBS  += $(PKG_LIBS) -lm -lpthread -ldl

LIB_SRC  := $(wildcard lib/*.c)
CMD_SRC  := $(wildcard cmd/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
DRIVER_SRC := $(wildcard tests/drivers/*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
DRIVER_BIN := $(DRIVER_SRC:tests/drivers/%.c=$(BUILD)/drivers/%)
# every fuzz target also replays its corpus and regression inputs as a unit test (gcc, no libFuzzer)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(BUILD)/unit/test_fuzz_%)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
COMMANDS = $(shell ./trainbox --list-commands 2>/dev/null)

.PHONY: all deps check check-slow unit bats bench demo install uninstall clean completions asan valgrind fuzz fuzz-build fuzz-bins
all: $(BIN)

$(BUILD)/%.o: %.c $(wildcard lib/*.h cmd/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TB_CFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libtrainbox.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CMD_OBJ) $(BUILD)/libtrainbox.a
	$(CC) $(TB_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libtrainbox.a $(LDLIBS)

$(BUILD)/unit/%: tests/unit/%.c tests/unit/tap.h $(BUILD)/libtrainbox.a
	@mkdir -p $(dir $@)
	$(CC) $(TB_CFLAGS) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(BUILD)/libtrainbox.a $(LDLIBS)

$(BUILD)/unit/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(BUILD)/libtrainbox.a
	@mkdir -p $(dir $@)
	$(CC) $(TB_CFLAGS) $(CFLAGS) -Itests/fuzz -DFUZZ_NAME='"$*"' $(LDFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libtrainbox.a $(LDLIBS)

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(BUILD)/libtrainbox.a
	@mkdir -p $(dir $@)
	$(CC) $(TB_CFLAGS) $(CFLAGS) -fsanitize=fuzzer -Itests/fuzz $(LDFLAGS) -o $@ $< $(BUILD)/libtrainbox.a $(LDLIBS)

$(BUILD)/drivers/%: tests/drivers/%.c $(BUILD)/libtrainbox.a
	@mkdir -p $(dir $@)
	$(CC) $(TB_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libtrainbox.a $(LDLIBS)

# Completions are generated from the command and option tables compiled into the binary and checked
# in under completions/ (as curl and git keep theirs): run `make completions` after changing a table;
# tests/cli.bats fails while a checked-in file differs from what the binary generates. `all` does not
# regenerate them, or a stale checked-in file could never be noticed.
completions: $(BIN)
	./$(BIN) --completion bash > completions/trainbox.bash
	./$(BIN) --completion zsh  > completions/_trainbox
	./$(BIN) --completion fish > completions/trainbox.fish

deps:
	@$(DEPS)

# tests/drivers/ are programs the bats suites run against servers (store_cli drives lib/store):
# built with the unit tests, never run as one (scripts/run-tests.sh runs build/unit/test_* only)
unit: $(UNIT_BIN) $(DRIVER_BIN) $(FUZZ_REPLAY)

# The README's test command: deps, a -Werror build, C unit tests and the bats suites (slow ones
# excluded), then every fuzz target for CHECK_FUZZ_SECONDS; check-slow fuzzes 30 s a target.
CHECK_FUZZ_SECONDS ?= 10
check: deps
	$(MAKE) all unit
	scripts/run-tests.sh fast
	$(MAKE) fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

check-slow: deps
	$(MAKE) all unit
	scripts/run-tests.sh slow
	$(MAKE) fuzz FUZZ_SECONDS=30

# libFuzzer targets (tests/fuzz/fuzz_*.c) over the library compiled by clang with ASan + UBSan and
# libFuzzer's coverage (its own build dir), each run for FUZZ_SECONDS from tests/fuzz/corpus/NAME,
# FUZZ_JOBS at a time (scripts/run-fuzz.sh); a crash fails the make, its input in tests/fuzz/crashes/.
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 30
FUZZ_JOBS    ?= 2
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_BUILD=$(FUZZ_BUILD) scripts/run-fuzz.sh

fuzz-build:
	$(MAKE) -j$(FUZZ_JOBS) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) CFLAGS='$(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link' \
	  LDFLAGS='-fsanitize=address,undefined' fuzz-bins

fuzz-bins: $(FUZZ_BIN)

# Same suites under ASan+UBSan (separate build dir so objects never mix).
asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/trainbox CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' LDFLAGS='-fsanitize=address,undefined' all unit
	TB_BUILD=build-asan TB_BIN_DIR=$(CURDIR)/build-asan scripts/run-tests.sh fast

valgrind: all unit
	TB_VALGRIND=1 scripts/run-tests.sh unit

bench: deps
	$(MAKE) all
	@for b in bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

# deps first, then build in a sub-make, which reads the package flags only now that they exist
demo: deps
	$(MAKE) all
	scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/trainbox \
	  $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d \
	  $(DESTDIR)$(PREFIX)/share/trainbox
	install -m 0755 trainbox $(DESTDIR)$(PREFIX)/bin/trainbox
	# `vast launch` sends this script as its instances' start script (found as ../share/trainbox/ of the binary)
	if [ -f scripts/start_vast.sh ]; then install -m 0755 scripts/start_vast.sh $(DESTDIR)$(PREFIX)/share/trainbox/start_vast.sh; fi
	for c in $(COMMANDS); do ln -sf ../../bin/trainbox $(DESTDIR)$(PREFIX)/libexec/trainbox/trainbox-$$c; done
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 completions/trainbox.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/trainbox
	install -m 0644 completions/_trainbox $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_trainbox
	install -m 0644 completions/trainbox.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/trainbox.fish

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/trainbox $(DESTDIR)$(PREFIX)/libexec/trainbox $(DESTDIR)$(PREFIX)/share/trainbox
	for m in man/*.1; do rm -f $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename $$m); done
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/trainbox \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_trainbox \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/trainbox.fish

clean:
	rm -rf build build-asan build-fuzz trainbox
