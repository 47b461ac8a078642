# tinfer — see README.md.  `make` builds build/tinfer and the libtorch shim
# build/libtinfer_tch.so, which the front end dlopen()s on first need.
#
#   make                      Debian libtorch-dev (CPU)
#   make LIBTORCH=DIR         the libtorch inside a pip wheel (DIR = site-packages/torch)
#   make check                the whole test suite
#   make demo                 install missing packages (as root), build, run the samples
#   make install PREFIX=/usr/local
#   make gpu-bundle           build/tinfer-gpu-VERSION.tar.gz: static front end + shim sources
#
# src/ is one folder per layer (README.md, "How it is built"): sys, formats,
# engine, tasks, app, cli, and tch (the only C++).  Sources include headers
# by their layer ("formats/image.h"), and dependencies on headers are
# tracked per object (-MMD), so editing one header rebuilds its users only.

PREFIX   ?= /usr/local
BUILD    ?= build
CC       ?= cc
CXX      ?= c++
CSTD     ?= -std=c11
PKG      := libpng libturbojpeg jansson

CFLAGS   ?= -O2 -g
CXXFLAGS ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wvla -Wno-unused-parameter
# Read when a recipe runs, not when the Makefile is parsed: `make demo`
# installs the -dev packages first, then builds (tools/deps.sh).
PKG_CFLAGS = $(shell pkg-config --cflags $(PKG) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKG) 2>/dev/null || echo -lpng16 -lturbojpeg -ljansson)
ALL_CFLAGS = $(CSTD) -D_GNU_SOURCE $(WARN) $(CFLAGS) -Isrc $(PKG_CFLAGS) -DTINFER_VERSION='"$(VERSION)"'
LIBS       = $(PKG_LIBS) -lz -ldl -lm -lpthread
VERSION  := 0.2.0

include mk/libtorch.mk

# --- sources --------------------------------------------------------------------
SRCS     := src/main.c $(wildcard src/*/*.c)
OBJS     := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all check unit demo install uninstall clean deps asan fuzz fuzzers completions gpu-bundle FORCE
all: $(BUILD)/tinfer $(BUILD)/libtinfer_tch.so

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tinfer: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(LIBS)

# The shim is rebuilt whenever the libtorch it is built against changes
# (make LIBTORCH=..., or the same folder upgraded): its flags, which name the
# libtorch, are kept in a stamp that changes with them, and the libtorch's
# version.h is a prerequisite.
$(BUILD)/tch.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CXX) $(CXXSTD) $(TORCH_ABI) $(TORCH_INC) $(TORCH_LIB)' | cmp -s - $@ || \
		echo '$(CXX) $(CXXSTD) $(TORCH_ABI) $(TORCH_INC) $(TORCH_LIB)' >$@

$(BUILD)/libtinfer_tch.so: src/tch/tch.cpp src/tch/tch.h $(BUILD)/tch.flags $(TORCH_VERSION_H)
	@mkdir -p $(dir $@)
	$(CXX) $(CXXSTD) -fPIC -shared $(TORCH_ABI) $(CXXFLAGS) -Wall -Wno-unused-parameter \
		$(TORCH_INC) $< -o $@ $(TORCH_LIB) $(LDFLAGS)

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJS)
	@mkdir -p $(dir $@) $(BUILD)/obj/tests
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $(BUILD)/obj/tests/$*.d $< $(LIBOBJS) -o $@ $(LIBS)

unit: $(UNIT_BIN)

-include $(OBJS:.o=.d) $(UNIT_SRC:tests/unit/%.c=$(BUILD)/obj/tests/%.d)

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
# from tests/data; crashes are kept under $(BUILD)/fuzz/crashes.  clang is
# installed by tools/deps.sh when missing (as root).
FUZZ_SECONDS ?= 60
fuzz:
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=clang \
		CFLAGS="-O1 -g -Wno-unknown-warning-option -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" fuzzers
	@sh tests/fuzz/run.sh $(BUILD)/fuzz $(FUZZ_SECONDS)

fuzzers: $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzzers/%)

$(BUILD)/fuzzers/%: tests/fuzz/%.c $(LIBOBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $< $(LIBOBJS) -o $@ $(LIBS)

# A bundle for a machine with a pip PyTorch and no -dev packages (an
# accelerator machine): the front end linked statically against libpng,
# TurboJPEG, jansson and zlib, and the shim's sources to build there
# (tools/bundle.sh says what is in it).
STATIC_LIBS = -Wl,-Bstatic -lpng16 -lturbojpeg -ljansson -lz -Wl,-Bdynamic -ldl -lm -lpthread
$(BUILD)/tinfer-static: $(OBJS)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) $^ -o $@ $(STATIC_LIBS)

# tools/gpu-check's baseline: a model loaded straight onto a device, one pass.
$(BUILD)/gpu_minimal: tools/gpu_minimal.cpp $(BUILD)/tch.flags
	$(CXX) $(CXXSTD) $(TORCH_ABI) $(CXXFLAGS) -Wall $(TORCH_INC) $< -o $@ $(TORCH_LIB) $(LDFLAGS)

gpu-bundle: $(BUILD)/tinfer-static
	@sh tools/bundle.sh $(BUILD) $(VERSION)

# The whole suite once more, built against libtorch 2.6 in a Debian trixie
# root kept in /var/cache/tinfer (tools/libtorch2.sh; root, debootstrap;
# LIBTORCH2=skip to skip).  CI runs it after make check.
.PHONY: check-libtorch2
check-libtorch2:
	@sh tools/libtorch2.sh $(BUILD)-libtorch2

deps:
	@sh tools/deps.sh

# deps first, then the build in a new make, which reads pkg-config only now
# that the packages are there.
demo: deps
	@$(MAKE) --no-print-directory all
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
