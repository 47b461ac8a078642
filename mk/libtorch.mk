# mk/libtorch.mk — compiler and linker flags for libtorch, shared by the
# top-level Makefile (src/tch/) and bench/Makefile (the minimal C++ program),
# so that both always build against the same libtorch in the same way.
#
#   LIBTORCH unset   Debian's libtorch-dev
#   LIBTORCH=DIR     the libtorch inside a pip wheel (DIR = site-packages/torch)
#
# Sets TORCH_INC (with -DTCH_CUDA for CUDA wheels), TORCH_ABI, TORCH_LIB and
# CXXSTD (the C++ standard libtorch's headers want).
CXXSTD ?= -std=c++17
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

