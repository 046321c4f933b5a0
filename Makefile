# trainbox: `make` builds ./trainbox; `make check` installs deps, builds with -Werror and runs all tests.
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   ?= build
BIN     ?= trainbox
CC      ?= cc
PKGS    := libcurl libarchive libcjson libcrypto zlib expat
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
# libcurl, libarchive and libcrypto are not linked: lib/curlshim.c, lib/archiveshim.c and
# lib/cryptoshim.c load them on first use (together they cost ~8.5 ms at every start)
PKG_LIBS   := $(shell pkg-config --libs $(filter-out libcurl libarchive libcrypto,$(PKGS)) 2>/dev/null)
VERSION := $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1.0)
CFLAGS  ?= -O2 -g
# project flags stay even when CFLAGS is given on the command line (make asan does)
TB_CFLAGS := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Ilib $(PKG_CFLAGS) -DTB_VERSION='"$(VERSION)"'
LDLIBS  += $(PKG_LIBS) -lm -lpthread -ldl

LIB_SRC  := $(wildcard lib/*.c)
CMD_SRC  := $(wildcard cmd/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CMD_OBJ  := $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
COMMANDS = $(shell ./trainbox --list-commands 2>/dev/null)

.PHONY: all deps check check-slow unit bats bench demo install uninstall clean completions asan valgrind
all: $(BIN) completions

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

# Completions are generated from the command and option tables compiled into the binary.
completions: $(BIN)
	@mkdir -p $(BUILD)/completions
	./$(BIN) --completion bash > $(BUILD)/completions/trainbox.bash
	./$(BIN) --completion zsh  > $(BUILD)/completions/_trainbox
	./$(BIN) --completion fish > $(BUILD)/completions/trainbox.fish

deps:
	@scripts/install-deps.sh

# azure_store_cli drives lib/store from tests/azure.bats (needs a server, so not run as a unit test)
unit: $(UNIT_BIN) $(BUILD)/unit/azure_store_cli

# The README's test command: deps, a -Werror build, C unit tests and the bats suites (slow ones excluded).
check: deps
	$(MAKE) all unit
	scripts/run-tests.sh fast

check-slow: deps
	$(MAKE) all unit
	scripts/run-tests.sh slow

# Same suites under ASan+UBSan (separate build dir so objects never mix).
asan:
	$(MAKE) BUILD=build-asan BIN=build-asan/trainbox CFLAGS='-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all' LDFLAGS='-fsanitize=address,undefined' all unit
	TB_BUILD=build-asan TB_BIN_DIR=$(CURDIR)/build-asan scripts/run-tests.sh fast

valgrind: all unit
	TB_VALGRIND=1 scripts/run-tests.sh unit

bench: deps all
	@for b in bench/*.sh; do echo "== $$b"; bash $$b || exit 1; done

demo: deps all
	scripts/demo.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/trainbox \
	  $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 trainbox $(DESTDIR)$(PREFIX)/bin/trainbox
	for c in $(COMMANDS); do ln -sf ../../bin/trainbox $(DESTDIR)$(PREFIX)/libexec/trainbox/trainbox-$$c; done
	install -m 0644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 $(BUILD)/completions/trainbox.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/trainbox
	install -m 0644 $(BUILD)/completions/_trainbox $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_trainbox
	install -m 0644 $(BUILD)/completions/trainbox.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/trainbox.fish

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/bin/trainbox $(DESTDIR)$(PREFIX)/libexec/trainbox
	for m in man/*.1; do rm -f $(DESTDIR)$(PREFIX)/share/man/man1/$$(basename $$m); done
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/trainbox \
	  $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_trainbox \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/trainbox.fish

clean:
	rm -rf build build-asan trainbox
