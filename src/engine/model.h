/*
 * model.h — the one model of a process, loaded: libtorch mapped, the device
 * chosen, the file loaded straight onto it in the precision asked for, and
 * forward passes that fall back (precision, memory layout) when the device
 * or the model cannot do what was asked.  `run` and `bench` share it.
 */
#ifndef TINFER_MODEL_H
#define TINFER_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "engine/shim.h"
#include "formats/npy.h"

/* How to load and run the model: what the command line asked for. */
struct model_params {
	const char *device;         /* "auto", "cpu", "cuda", "cuda:N" */
	int dtype;                  /* TCH_F32, TCH_F16 or TCH_BF16 */
	int autocast;
	const char *memory_format;  /* "auto", "channels-last", "contiguous" */
	long threads;               /* intra-op threads, >= 1 */
	int64_t max_vram;           /* cap on the device memory libtorch reserves (bytes); 0 = none */
	double max_vram_pct;        /* the same as a percentage of the device's memory; 0 = none */
	int empty_cache;            /* the caller empties the cache after each batch (CUDA only) */
};

struct model {
	const struct tch_api *T;
	tch_module *mod;
	char device[32];            /* "cpu", "cuda:0", ... */
	int dev_index;              /* CUDA device, -1 on the CPU */
	int dtype;                  /* what runs (after any fallback): TCH_F32, TCH_F16, TCH_BF16 */
	int autocast;               /* likewise */
	int channels_last;          /* 4-d inputs in channels-last memory format */
	int layout_auto;            /* --memory-format auto: may fall back to contiguous */
	char fallback[160];         /* why what runs is not what was asked; "" when it is */
	double t_load0, t_load1;    /* ms */
	int64_t ram_after_load;
	int64_t vram_load_peak;     /* 0 on the CPU */
	int64_t vram_limit;         /* the --max-vram cap in bytes; 0 = none */
	int64_t weight_bytes;       /* parameters and buffers on the device, as loaded */
	const char *file;           /* the TorchScript file, to load it again as it was */
	int optimized;              /* what runs: 0 the module as loaded, 1 frozen, 2 frozen + optimize_for_inference */
	char optimize_why[200];     /* what --optimize did, or why it did not ("" before it was decided) */
	double optimize_ms;         /* making and checking the optimised modules */
};

/*
 * Maps libtorch and loads the TorchScript file (model `name`, for
 * messages) as p asks.  On CUDA the allocator's peaks are reset after the
 * load (cached blocks freed first), so that what follows the load is
 * measured apart from it.  Returns 0, or an exit status with a reason in
 * err: EXIT_MODEL; EXIT_USAGE for a device that is not there, or CUDA-only
 * options (--max-vram, --empty-cache) on the CPU; EXIT_OOM for weights
 * larger than --max-vram.
 */
int model_open(struct model *m, const char *file, const char *name, const struct model_params *p, char *err,
               size_t errlen);

/* Frees the module; accepts a model never opened. */
void model_close(struct model *m);

/*
 * Runs `method` ("forward") on a tensor made from host data (C order,
 * element type src, shape[ndim]), converted to the model's precision and
 * layout.  Missing kernels make it fall back and try again; a layout the
 * model cannot take makes it go contiguous (with layout_auto).  Returns the
 * output, or NULL with a reason in err and *oom set when memory ran out.
 */
tch_value *model_forward(struct model *m, const void *host, int src, const int64_t *shape, int ndim, int *oom,
                         char *err, size_t errlen);

/*
 * After a pass failed for want of kernels (why): autocast off, or the next
 * precision that may work (fp16 -> bf16 -> fp32 on the CPU, -> fp32 on
 * CUDA), warned once.  1 when something changed, 0 when nothing is left.
 */
int model_fall_back(struct model *m, const char *why);

/*
 * --optimize: makes modules for inference from the one loaded, best first
 * (frozen and optimize_for_inference, then frozen alone), runs each on the
 * batch just run (host data, as given to model_forward) and keeps the first
 * whose output is within model_optimize_tolerance() of ref, the loaded
 * module's output on it; the loaded module is then freed.  A candidate
 * that libtorch refuses, that fails or differs is dropped, said on stderr
 * when warn.  Returns 1 when an optimised module runs from now on, 0 when
 * the module as loaded still does; m->optimize_why says which and why.
 */
int model_optimize(struct model *m, const void *host, int src, const int64_t *shape, int ndim, const tch_value *ref,
                   int warn);

/* Largest difference allowed between the optimised module's output and the
 * loaded one's, relative to max(1, largest |output|): 1e-3 in fp32, 1e-2 in
 * fp16, 5e-2 in bf16 or under autocast. */
double model_optimize_tolerance(const struct model *m);

/* The element type float inputs are handed to the model as. */
int model_float_type(const struct model *m);

/* The element type a host buffer of .npy type t is handed to the model as;
 * -1 for u16, u32, u64: libtorch has no such tensors (before 2.3). */
int model_npy_type(enum npy_dtype t);

/* Bytes of an element type. */
size_t tch_elem_size(int t);

/* The precisions a model runs in, by name: "fp32" <-> TCH_F32, "fp16",
 * "bf16".  The name of another type is "?"; parsing an unknown name gives -1. */
const char *model_dtype_name(int dtype);
int model_dtype_parse(const char *name);

#endif
