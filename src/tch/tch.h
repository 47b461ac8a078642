/*
 * tch.h — tinfer's C API over libtorch's C++ API.
 *
 * Built into its own shared object, libtinfer_tch.so, which the front end
 * dlopen()s the first time it needs a forward pass (src/engine/shim.c), so that
 * --help, models, info and early errors never map libtorch.
 *
 * Conventions, as in whisper.h and tch-rs's torch_api.h:
 *   - opaque handles; plain C types; no C++ exception ever crosses this line;
 *   - a function returning a pointer returns NULL on error, one returning int
 *     returns -1; tch_last_error() then says why (one line, thread-local);
 *   - every *_free() accepts NULL.
 *
 * The list of entry points is written once, as TCH_API(X) below: tch.cpp
 * defines them, engine/shim.c resolves them with dlsym() into a table.
 */
#ifndef TINFER_TCH_H
#define TINFER_TCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shim's ELF section TCH_BUILT_SECTION holds TCH_BUILT_MARKER and the
 * version of the libtorch headers it was compiled against, NUL-terminated:
 * engine_built_against() reads it without loading libtorch. */
#define TCH_BUILT_SECTION ".tinfer_built"
#define TCH_BUILT_MARKER "tinfer-tch built against libtorch "

/* Bumped whenever an entry point changes; engine/shim.c refuses a mismatched shim. */
#define TCH_ABI_VERSION 3

typedef struct tch_module tch_module; /* a loaded TorchScript module */
typedef struct tch_value tch_value;   /* an IValue: tensor, tuple, list, dict, ... */

/* Element types; the numbering is tinfer's own. */
enum tch_dtype {
	TCH_BOOL = 0, TCH_U8, TCH_I8, TCH_I16, TCH_I32, TCH_I64,
	TCH_F16, TCH_BF16, TCH_F32, TCH_F64, TCH_OTHER
};

/* What a tch_value holds. */
enum tch_kind {
	TCH_NONE = 0, TCH_TENSOR, TCH_TUPLE, TCH_LIST, TCH_DICT,
	TCH_INT, TCH_DOUBLE, TCH_BOOLV, TCH_STRING, TCH_UNKNOWN
};

/* CUDA caching-allocator figures for one device, in bytes; -1 when unknown. */
struct tch_vram {
	int64_t allocated, reserved;           /* now */
	int64_t peak_allocated, peak_reserved; /* since the last reset */
};

#define TCH_API(X)                                                                          \
	/* ABI version of the shim (TCH_ABI_VERSION when it was built). */                      \
	X(int, tch_abi_version, (void))                                                         \
	/* The last error of this thread, "" when none. */                                      \
	X(const char *, tch_last_error, (void))                                                 \
	/*                                                                                      \
	 * The version of the libtorch this process loaded, e.g. "1.13.0", as the              \
	 * library itself says it (its build configuration), else the headers'.               \
	 */                                                                                     \
	X(const char *, tch_version, (void))                                                    \
	/*                                                                                      \
	 * The BLAS libtorch's matrix products run on: "OpenBLAS 0.3.21 ...",                   \
	 * "reference BLAS (...)" (netlib's, unoptimised), or what else was found.              \
	 */                                                                                     \
	X(const char *, tch_blas, (void))                                                       \
	/*                                                                                      \
	 * Takes `callers` work buffers into OpenBLAS's pool now, while memory is               \
	 * plentiful: OpenBLAS retries forever when it cannot get one later.  1 done,           \
	 * 0 nothing to do (not OpenBLAS), -1 skipped (tch_last_error says why).                \
	 */                                                                                     \
	X(int, tch_blas_reserve, (int callers))                                                 \
	/* Intra-op threads: set (n >= 1) and get. */                                           \
	X(int, tch_set_threads, (int n))                                                        \
	X(int, tch_get_threads, (void))                                                         \
	/*                                                                                      \
	 * TorchScript's profiling graph executor on (1) or off (0).  Off, the first            \
	 * forward pass skips the profiling runs: a one-shot process starts faster.             \
	 */                                                                                     \
	X(int, tch_set_optimize, (int on))                                                      \
	/* Number of CUDA devices usable (0 on a CPU build or machine). */                     \
	X(int, tch_cuda_device_count, (void))                                                   \
	/* 1 when this shim was compiled against a CUDA libtorch. */                            \
	X(int, tch_cuda_compiled, (void))                                                       \
	/*                                                                                      \
	 * Allocator figures for device index dev; -1 on CPU builds.  These and the             \
	 * calls below initialise CUDA first (the allocator's tables need it).                  \
	 */                                                                                     \
	X(int, tch_cuda_vram, (int dev, struct tch_vram *out))                                  \
	X(int, tch_cuda_reset_peaks, (int dev))                                                 \
	/* Hands the allocator's unused cached blocks back to the driver (0 on CPU builds). */  \
	X(int, tch_cuda_empty_cache, (void))                                                    \
	/*                                                                                      \
	 * Caps what the allocator may reserve on device dev (bytes); an allocation             \
	 * past it fails as out of memory.  -1 on CPU builds.                                   \
	 */                                                                                     \
	X(int, tch_cuda_set_limit, (int dev, int64_t bytes))                                    \
	/* The device's free and total memory as the driver reports them; -1 on CPU builds. */  \
	X(int, tch_cuda_mem_info, (int dev, int64_t *free_bytes, int64_t *total_bytes))         \
	/* 1 when err names an out-of-memory condition (CUDA OOM, CPU alloc). */               \
	X(int, tch_error_is_oom, (const char *err))                                             \
	/* 1 when err says a kernel is missing for a dtype on this device. */                   \
	X(int, tch_error_is_dtype_missing, (const char *err))                                   \
	/*                                                                                      \
	 * Loads a TorchScript file onto device ("cpu", "cuda", "cuda:1") with its              \
	 * floating-point parameters and buffers in dtype (TCH_F32/F16/BF16; integer            \
	 * and bool tensors keep their type), in eval mode.  fp32 goes straight onto            \
	 * the device; another precision is converted in host memory first, so that             \
	 * the device never holds the fp32 weights.                                             \
	 */                                                                                     \
	X(tch_module *, tch_module_load, (const char *path, const char *device, int dtype))     \
	X(void, tch_module_free, (tch_module * m))                                              \
	/*                                                                                      \
	 * Puts the module in dtype, converted afresh from the file's weights (the file         \
	 * is read again), never from the precision it is in.                                   \
	 */                                                                                     \
	X(int, tch_module_to_dtype, (tch_module * m, int dtype))                                \
	/* Bytes of the module's parameters and buffers (each storage once). */                 \
	X(int64_t, tch_module_bytes, (tch_module * m))                                          \
	X(int, tch_module_has_method, (tch_module * m, const char *name))                       \
	/*                                                                                      \
	 * A new module made from m for inference, m left as it was: level 1 frozen             \
	 * (torch::jit::freeze: weights as constants, batch norm folded into the               \
	 * convolutions), level 2 frozen then torch::jit::optimize_for_inference.              \
	 * NULL when libtorch refuses (tch_last_error says why).                                \
	 */                                                                                     \
	X(tch_module *, tch_module_optimized, (tch_module * m, int level))                      \
	/*                                                                                      \
	 * Convolutions in m's methods and its submodules' (graph nodes aten::conv*,            \
	 * aten::_convolution), counted without changing m: what freezing and                  \
	 * optimize_for_inference speed up on the CPU.  -1 on error.                            \
	 */                                                                                     \
	X(int, tch_module_convolutions, (tch_module * m))                                       \
	/*                                                                                      \
	 * Calls method (e.g. "forward") with nargs arguments under inference mode,             \
	 * with autocast (CUDA fp16, CPU bf16) when autocast != 0.  The arguments               \
	 * are borrowed.  Returns a new value, or NULL.                                         \
	 */                                                                                     \
	X(tch_value *, tch_module_call,                                                         \
	  (tch_module * m, const char *method, tch_value *const *args, int nargs, int autocast))\
	/*                                                                                      \
	 * A tensor of the given shape made from a copy of data (host memory, C order,          \
	 * of type src), converted to dtype and moved to the module's device.                  \
	 * channels_last: use the channels-last memory format for a 4-d tensor.                \
	 */                                                                                     \
	X(tch_value *, tch_tensor_from,                                                         \
	  (const void *data, int src, const int64_t *shape, int ndim, int dtype,                \
	   const char *device, int channels_last))                                              \
	X(void, tch_value_free, (tch_value * v))                                                \
	/*                                                                                      \
	 * How far b is from a, two outputs of the same structure: into *diff the              \
	 * largest |a - b| over every element of every tensor (NaN or an infinity in            \
	 * one place of one only: infinite), into *ref the largest finite |a|.  -1              \
	 * when the structure, a shape or a scalar differs (tch_last_error says how).           \
	 */                                                                                     \
	X(int, tch_value_max_diff, (const tch_value *a, const tch_value *b, double *diff, double *ref)) \
	X(int, tch_value_kind, (const tch_value *v))                                            \
	/* Tuples, lists, dicts: number of items; item i (new value); dict key i as text. */    \
	X(int, tch_value_len, (const tch_value *v))                                             \
	X(tch_value *, tch_value_item, (const tch_value *v, int i))                             \
	X(int, tch_value_key, (const tch_value *v, int i, char *buf, size_t len))               \
	/* Scalars: int, double, bool. */                                                       \
	X(int, tch_value_scalar, (const tch_value *v, double *out))                             \
	/* Tensors: dimensions (and shape into shape[ndim_max]), dtype. */                      \
	X(int, tch_tensor_shape, (const tch_value *v, int64_t *shape, int ndim_max))            \
	X(int, tch_tensor_dtype, (const tch_value *v))                                          \
	/*                                                                                      \
	 * Copies the whole tensor to host memory at out as dtype (C order), after              \
	 * moving it to the CPU.  cap is out's size in bytes.                                   \
	 */                                                                                     \
	X(int, tch_tensor_copy, (const tch_value *v, int dtype, void *out, size_t cap))

#define TCH_DECLARE(ret, name, args) ret name args;
TCH_API(TCH_DECLARE)
#undef TCH_DECLARE

#ifdef __cplusplus
}
#endif
#endif
