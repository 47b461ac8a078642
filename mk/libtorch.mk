# mk/libtorch.mk — compiler and linker flags for libtorch, shared by the
# top-level Makefile (src/tch/), bench/Makefile (the minimal C++ program) and
# the shim's Makefile in `make gpu-bundle`, so that all build against the
# same libtorch in the same way.
#
#   LIBTORCH unset   Debian's libtorch-dev
#   LIBTORCH=DIR     the libtorch inside a pip wheel (DIR = site-packages/torch)
#
# Sets TORCH_INC (with -DTCH_CUDA for CUDA wheels), TORCH_ABI, TORCH_LIB,
# TORCH_VERSION_H (a file that changes with the libtorch: the shim depends
# on it) and CXXSTD (the C++ standard libtorch's headers want).
CXXSTD ?= -std=c++17
ifeq ($(LIBTORCH),)
TORCH_INC := -I/usr/include/torch/csrc/api/include
TORCH_LIB := -ltorch -ltorch_cpu -lc10
TORCH_ABI :=
TORCH_VERSION_H := $(wildcard /usr/include/torch/csrc/api/include/torch/version.h)
else
LIBTORCH_ABS := $(abspath $(LIBTORCH))
TORCH_INC := -isystem $(LIBTORCH_ABS)/include -isystem $(LIBTORCH_ABS)/include/torch/csrc/api/include
TORCH_VERSION_H := $(wildcard $(LIBTORCH_ABS)/include/torch/csrc/api/include/torch/version.h)
# The C++ ABI is what torch itself says (torch._C._GLIBCXX_USE_CXX11_ABI),
# asked of a Python that imports this very torch: the venv's own (bin/python
# beside lib/pythonX.Y/site-packages), else $(PYTHON), else python3.  When
# none can, 1: the ABI of every wheel since 2.7 and of Debian's builds.
TORCH_PY ?= $(firstword $(wildcard $(LIBTORCH_ABS)/../../../../bin/python) $(PYTHON) python3)
TORCH_ABI_ASKED := $(shell cd / && $(TORCH_PY) -c 'import sys; sys.path.insert(0, "$(LIBTORCH_ABS)/.."); import torch, os; assert os.path.realpath(os.path.dirname(torch.__file__)) == os.path.realpath("$(LIBTORCH_ABS)"); print(int(torch._C._GLIBCXX_USE_CXX11_ABI))' 2>/dev/null)
TORCH_ABI := -D_GLIBCXX_USE_CXX11_ABI=$(or $(TORCH_ABI_ASKED),1)
# The wheel's CUDA libraries (libcudart, NVRTC, cuBLAS, ...) sit in
# site-packages/nvidia/*/lib: run paths to each, so that they resolve without
# LD_LIBRARY_PATH.
TORCH_RPATH := -Wl,-rpath,$(LIBTORCH_ABS)/lib $(foreach d,$(wildcard $(LIBTORCH_ABS)/../nvidia/*/lib),-Wl,-rpath,$(abspath $(d)))
ifneq ($(wildcard $(LIBTORCH_ABS)/lib/libtorch_cuda.so),)
# CUDA wheels: link the CUDA parts even though no symbol is used directly, so
# that their static initialisers register the CUDA backend.  CUDA's headers:
# the wheel's (nvidia/cu13/include, then any nvidia/*/include holding
# cuda_runtime_api.h), then the toolkit's.
CUDA_INC  := $(firstword $(wildcard $(LIBTORCH_ABS)/../nvidia/cu13/include/cuda_runtime_api.h) \
                         $(wildcard $(LIBTORCH_ABS)/../nvidia/*/include/cuda_runtime_api.h) \
                         $(wildcard $(CUDA_HOME)/include/cuda_runtime_api.h) \
                         $(wildcard /usr/local/cuda/include/cuda_runtime_api.h))
TORCH_INC += -DTCH_CUDA $(if $(CUDA_INC),-isystem $(abspath $(dir $(CUDA_INC))))
TORCH_LIB := -L$(LIBTORCH_ABS)/lib -Wl,--no-as-needed -ltorch_cuda -lc10_cuda -Wl,--as-needed -ltorch -ltorch_cpu -lc10 $(TORCH_RPATH)
else
TORCH_LIB := -L$(LIBTORCH_ABS)/lib -ltorch -ltorch_cpu -lc10 $(TORCH_RPATH)
endif
endif
