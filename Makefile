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

# --- libtorch -----------------------------------------------------------------
ifeq ($(LIBTORCH),)
TORCH_INC := -I/usr/include/torch/csrc/api/include
TORCH_LIB := -ltorch -ltorch_cpu -lc10
TORCH_ABI :=
else
TORCH_INC := -isystem $(LIBTORCH)/include -isystem $(LIBTORCH)/include/torch/csrc/api/include
# pip wheels before 2.7 use the old C++ ABI: read it off libc10's symbols.
TORCH_ABI := -D_GLIBCXX_USE_CXX11_ABI=$(shell nm -D $(LIBTORCH)/lib/libc10.so 2>/dev/null | grep -q __cxx11 && echo 1 || echo 0)
ifneq ($(wildcard $(LIBTORCH)/lib/libtorch_cuda.so),)
# CUDA wheels: link the CUDA parts even though no symbol is used directly, so
# that their static initialisers register the CUDA backend.
CUDA_INC  := $(firstword $(wildcard $(LIBTORCH)/../nvidia/cuda_runtime/include /usr/local/cuda/include))
TORCH_INC += -DTCH_CUDA $(if $(CUDA_INC),-isystem $(CUDA_INC))
TORCH_LIB := -L$(LIBTORCH)/lib -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 -Wl,-rpath,$(LIBTORCH)/lib
else
TORCH_LIB := -L$(LIBTORCH)/lib -ltorch -ltorch_cpu -lc10 -Wl,-rpath,$(LIBTORCH)/lib
endif
endif

# --- sources --------------------------------------------------------------------
SRCS     := $(wildcard src/*.c)
OBJS     := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS  := $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all check unit demo install uninstall clean deps asan fuzz
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

check: all unit
	@sh tests/run.sh $(BUILD)

# The unit tests once more under AddressSanitizer and UBSan (make check runs this).
asan:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" unit

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
