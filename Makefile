# tinfer — see README.md.  `make` builds build/tinfer and the libtorch shim
# build/libtinfer_tch.so, which the front end dlopen()s on first need.
#
#   make                      Debian libtorch-dev (CPU)
#   make LIBTORCH=DIR         the libtorch inside a pip wheel (DIR = site-packages/torch)
#   make check                the whole test suite
#   make demo                 build, install missing packages (as root), run the samples
#   make install PREFIX=/usr/local

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
CXX      ?= c++
PKG      := libpng libturbojpeg jansson

CFLAGS   ?= -O2 -g
CXXFLAGS ?= -O2 -g
# Messages are cut to fit their buffers on purpose: no -Wformat-truncation.
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter -Wno-format-truncation
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(shell pkg-config --cflags $(PKG) 2>/dev/null) \
	-DTINFER_VERSION='"$(VERSION)"'
LIBS     := $(shell pkg-config --libs $(PKG) 2>/dev/null) -lz -ldl -lm -lpthread
VERSION  := 0.1.0

include mk/libtorch.mk

# --- sources --------------------------------------------------------------------
SRCS     := $(wildcard src/*.c)
OBJS     := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all check unit demo install uninstall clean deps asan fuzz fuzzers completions
all: $(BUILD)/tinfer $(BUILD)/libtinfer_tch.so

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) src/tch/tch.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/tinfer: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LIBS)

$(BUILD)/libtinfer_tch.so: src/tch/tch.cpp src/tch/tch.h
	@mkdir -p $(dir $@)
	$(CXX) -std=c++17 -fPIC -shared $(TORCH_ABI) $(CXXFLAGS) -Wall -Wno-unused-parameter \
		$(TORCH_INC) $< -o $@ $(TORCH_LIB) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc $< $(LIBOBJS) -o $@ $(LIBS)

unit: $(UNIT_BIN)

# completions/ is generated from the option table (the docs test checks it).
completions: $(BUILD)/tinfer
	$(BUILD)/tinfer completions bash >completions/tinfer.bash
	$(BUILD)/tinfer completions zsh >completions/_tinfer
	$(BUILD)/tinfer completions fish >completions/tinfer.fish

check: all unit
	@sh tests/run.sh $(BUILD)

# The unit tests once more under AddressSanitizer and UBSan (make check runs this).
asan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit

# libFuzzer targets (clang), each run for FUZZ_SECONDS on a corpus seeded
# from tests/data; crashes are kept under $(BUILD)/fuzz/crashes.
FUZZ_SECONDS ?= 60
fuzz:
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install clang" >&2; exit 2; }
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=clang \
		CFLAGS="-O1 -g -Wno-unknown-warning-option -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" fuzzers
	@sh tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

fuzzers: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Isrc $< $(LIBOBJS) -o $@ $(LIBS)

# The whole suite once more, built against libtorch 2.6 in a Debian trixie
# root kept in /var/cache/tinfer (tools/libtorch2.sh; root, debootstrap;
# LIBTORCH2=skip to skip).  CI runs it after make check.
.PHONY: check-libtorch2
check-libtorch2:
	@sh tools/libtorch2.sh $(BUILD)-libtorch2

deps:
	@sh tools/deps.sh

demo: deps all
	@sh tools/demo.sh $(BUILD)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/tinfer $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/tinfer/samples \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 755 $(BUILD)/tinfer $(DESTDIR)$(PREFIX)/bin/tinfer
	install -m 755 $(BUILD)/libtinfer_tch.so $(DESTDIR)$(PREFIX)/lib/tinfer/libtinfer_tch.so
	install -m 644 man/tinfer.1 $(DESTDIR)$(PREFIX)/share/man/man1/tinfer.1
	cp -R samples/. $(DESTDIR)$(PREFIX)/share/tinfer/samples/
	install -m 644 completions/tinfer.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tinfer
	install -m 644 completions/_tinfer $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tinfer
	install -m 644 completions/tinfer.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tinfer.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tinfer $(DESTDIR)$(PREFIX)/share/man/man1/tinfer.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/tinfer \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tinfer \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tinfer.fish
	rm -rf $(DESTDIR)$(PREFIX)/lib/tinfer $(DESTDIR)$(PREFIX)/share/tinfer

clean:
	rm -rf $(BUILD)
