/* model.c — see model.h. */
#include "engine/model.h"
#include "sys/memstat.h"
#include "sys/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	int dtype;
	const char *name;
} precisions[] = {{TCH_F32, "fp32"}, {TCH_F16, "fp16"}, {TCH_BF16, "bf16"}};

const char *model_dtype_name(int dtype)
{
	for (size_t i = 0; i < sizeof precisions / sizeof precisions[0]; i++)
		if (precisions[i].dtype == dtype)
			return precisions[i].name;
	return "?";
}

int model_dtype_parse(const char *name)
{
	for (size_t i = 0; i < sizeof precisions / sizeof precisions[0]; i++)
		if (!strcmp(precisions[i].name, name))
			return precisions[i].dtype;
	return -1;
}

size_t tch_elem_size(int t)
{
	switch (t) {
	case TCH_BOOL: case TCH_U8: case TCH_I8: return 1;
	case TCH_I16: case TCH_F16: case TCH_BF16: return 2;
	case TCH_I32: case TCH_F32: return 4;
	default: return 8;
	}
}

int model_float_type(const struct model *m)
{
	return m->autocast ? TCH_F32 : m->dtype;
}

/* The device `want` names, as libtorch spells it; -1 with err when absent. */
static int pick_device(struct model *m, const char *want, char *err, size_t errlen)
{
	int ndev = m->T->tch_cuda_device_count();
	if (!strcmp(want, "auto")) {
		snprintf(m->device, sizeof m->device, "%s", ndev > 0 ? "cuda:0" : "cpu");
	} else if (!strncmp(want, "cuda", 4)) {
		int idx = want[4] == ':' ? (int)strtol(want + 5, NULL, 10) : 0; /* validated in opts.c */
		if (idx >= ndev) {
			msg_fmt(err, errlen, "--device %s: %s", want,
			        m->T->tch_cuda_compiled() ? "no such CUDA device"
			                                  : "this build of tinfer has no CUDA (make LIBTORCH=...)");
			return -1;
		}
		snprintf(m->device, sizeof m->device, "cuda:%d", idx);
	} else {
		snprintf(m->device, sizeof m->device, "cpu");
	}
	m->dev_index = !strncmp(m->device, "cuda:", 5) ? (int)strtol(m->device + 5, NULL, 10) : -1;
	return 0;
}

/*
 * The BLAS matters more than anything else on the CPU: Debian's default
 * libblas.so.3 is netlib's reference implementation, ~30x slower than
 * OpenBLAS on a ViT's matrix products.  Says so once.  With OpenBLAS, takes
 * one work buffer per thread that may call it now: OpenBLAS retries forever
 * when it cannot get one later, so under memory pressure a forward pass
 * would hang instead of failing (and halving the batch).  When not even one
 * fits (a tight ulimit -v), any matrix product would hang: -1 with err.
 */
static int check_blas(const struct tch_api *T, int threads, char *err, size_t errlen)
{
	const char *blas = T->tch_blas();
	if (!strncmp(blas, "reference BLAS", 14))
		msg_warn("libtorch runs on the %s: matrix products are ~30x slower than with OpenBLAS "
		         "(apt-get install libopenblas0-pthread)", blas);
	if (T->tch_blas_reserve(threads) < 0) {
		msg_fmt(err, errlen, "out of memory before the first input: %s", T->tch_last_error());
		return -1;
	}
	return 0;
}

/* A byte count for messages: "1.5 GiB (1610612736 bytes)". */
static void fmt_bytes(char *buf, size_t len, int64_t b)
{
	static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)b;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%lld bytes", (long long)b);
	else
		snprintf(buf, len, "%.1f %s (%lld bytes)", v, unit[u], (long long)b);
}

/*
 * --max-vram on device m->dev_index: the cap in bytes (a percentage of
 * what the driver says the device has), handed to the allocator before
 * anything is loaded.  0, or -1 with err.
 */
static int set_vram_limit(struct model *m, const struct model_params *p, char *err, size_t errlen)
{
	int64_t free_b, total_b;
	if (!p->max_vram && !(p->max_vram_pct > 0))
		return 0;
	if (m->T->tch_cuda_mem_info(m->dev_index, &free_b, &total_b) < 0) {
		msg_fmt(err, errlen, "--max-vram: %s", m->T->tch_last_error());
		return -1;
	}
	m->vram_limit = p->max_vram ? p->max_vram : (int64_t)((double)total_b * p->max_vram_pct / 100.0);
	if (m->vram_limit < 1)
		m->vram_limit = 1;
	if (m->T->tch_cuda_set_limit(m->dev_index, m->vram_limit) < 0) {
		msg_fmt(err, errlen, "--max-vram: %s", m->T->tch_last_error());
		return -1;
	}
	return 0;
}

/*
 * The weights did not fit under --max-vram (load_err says how libtorch
 * failed): their size, measured by loading them into host memory in the
 * same precision, and the cap, in err.
 */
static void weights_over_cap(struct model *m, const char *file, const char *name, const char *load_err, char *err,
                             size_t errlen)
{
	char need[64] = "", cap[64];
	tch_module *host = m->T->tch_module_load(file, "cpu", m->dtype);
	int64_t bytes = host ? m->T->tch_module_bytes(host) : -1;
	m->T->tch_module_free(host);
	fmt_bytes(cap, sizeof cap, m->vram_limit);
	if (bytes > 0) {
		fmt_bytes(need, sizeof need, bytes);
		msg_fmt(err, errlen, "model '%s': its %s weights need %s, more than --max-vram %s allows", name,
		        model_dtype_name(m->dtype), need, cap);
	} else {
		msg_fmt(err, errlen, "model '%s': its weights do not fit under --max-vram %s: %s", name, cap, load_err);
	}
}

int model_open(struct model *m, const char *file, const char *name, const struct model_params *p, char *err,
               size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->dev_index = -1;
	m->dtype = p->dtype;
	m->autocast = p->autocast;
	m->layout_auto = !strcmp(p->memory_format, "auto");
	/* Channels-last convolutions are about twice as fast on the CPU (Tiny
	 * YOLOv2 at batch 8: 1143 -> 563 ms) for the same numbers up to float
	 * rounding (1e-4 on its logits). */
	m->channels_last = strcmp(p->memory_format, "contiguous") != 0;
	m->t_load0 = now_ms();
	if (!(m->T = engine_get(err, errlen)))
		return EXIT_MODEL;
	m->T->tch_set_threads((int)p->threads);
	if (check_blas(m->T, (int)p->threads, err, errlen) < 0)
		return EXIT_OOM;
	if (pick_device(m, p->device, err, errlen) < 0)
		return EXIT_USAGE;
	if (m->dev_index < 0 && (p->max_vram || p->max_vram_pct > 0 || p->empty_cache)) {
		msg_fmt(err, errlen, "%s applies to CUDA devices only (the device is cpu%s)",
		        p->max_vram || p->max_vram_pct > 0 ? "--max-vram" : "--empty-cache",
		        strcmp(p->device, "cpu") ? ": libtorch sees no CUDA device" : "");
		return EXIT_USAGE;
	}
	/* On the CPU the profiling executor's optimisations bring no fusion with
	 * libtorch's defaults, and its profiling runs make the first forward pass
	 * ~10x slower (53 ms against 6 ms for the digits model): off.  On CUDA
	 * its fusers can pay for themselves over a batch job: left on. */
	m->T->tch_set_optimize(m->dev_index >= 0);
	if (m->dev_index >= 0) {
		if (set_vram_limit(m, p, err, errlen) < 0)
			return EXIT_USAGE;
		m->T->tch_cuda_reset_peaks(m->dev_index);
	}
	m->file = file;
	if (!(m->mod = m->T->tch_module_load(file, m->device, m->dtype))) {
		char why[ERRLEN];
		msg_fmt(why, sizeof why, "%s", m->T->tch_last_error());
		if (m->vram_limit && m->T->tch_error_is_oom(why)) {
			weights_over_cap(m, file, name, why, err, errlen);
			return EXIT_OOM;
		}
		msg_fmt(err, errlen, "model '%s': cannot load '%s': %s", name, file, why);
		return EXIT_MODEL;
	}
	m->t_load1 = now_ms();
	m->ram_after_load = mem_rss();
	m->weight_bytes = m->T->tch_module_bytes(m->mod);
	if (m->dev_index >= 0) {
		struct tch_vram v;
		if (m->vram_limit && m->weight_bytes > m->vram_limit) {
			char need[64], cap[64];
			fmt_bytes(need, sizeof need, m->weight_bytes);
			fmt_bytes(cap, sizeof cap, m->vram_limit);
			msg_fmt(err, errlen, "model '%s': its %s weights need %s, more than --max-vram %s allows", name,
			        model_dtype_name(m->dtype), need, cap);
			return EXIT_OOM;
		}
		if (m->T->tch_cuda_vram(m->dev_index, &v) == 0)
			m->vram_load_peak = v.peak_allocated;
		/* a phase boundary: what the load cached goes back, the
		 * inference peaks start from what the weights hold */
		m->T->tch_cuda_empty_cache();
		m->T->tch_cuda_reset_peaks(m->dev_index);
	}
	return 0;
}

void model_close(struct model *m)
{
	if (m->T && m->mod)
		m->T->tch_module_free(m->mod);
	m->mod = NULL;
}

/*
 * Replaces an optimised module by the file loaded again as it was, in
 * dtype, saying why once: what the optimised module cannot do the module
 * as loaded may.  0, or -1 (the optimised module stays).
 */
static int reload(struct model *m, int dtype, const char *why)
{
	tch_module *mod = m->T->tch_module_load(m->file, m->device, dtype);
	if (!mod)
		return -1;
	m->T->tch_module_free(m->mod);
	m->mod = mod;
	m->optimized = 0;
	msg_fmt(m->optimize_why, sizeof m->optimize_why, "the optimised module was dropped: %s", why);
	msg_warn("--optimize: %s: running the module as loaded", m->optimize_why);
	return 0;
}

int model_fall_back(struct model *m, const char *why)
{
	int next;
	/* On the CPU autocast computes in bf16: a missing fp16 kernel there is
	 * the fp16 weights', and it is the precision that falls back. */
	int weights_at_fault = m->dev_index < 0 && m->dtype == TCH_F16 && strstr(why, "'Half'");
	if (m->autocast && !weights_at_fault) {
		m->autocast = 0;
		snprintf(m->fallback, sizeof m->fallback, "autocast kernels missing on %s: ran without", m->device);
		msg_warn("%s (%s)", m->fallback, why);
		return 1;
	}
	if (m->dtype == TCH_F32)
		return 0;
	next = m->dtype == TCH_F16 && m->dev_index < 0 ? TCH_BF16 : TCH_F32;
	/* a frozen module's weights are constants of its graph: to() leaves them */
	if (m->optimized) {
		if (reload(m, next, "it needs another precision") < 0)
			return 0;
	} else if (m->T->tch_module_to_dtype(m->mod, next) < 0) { /* from the file's weights, once */
		return 0;
	}
	snprintf(m->fallback, sizeof m->fallback, "%s kernels missing on %s", model_dtype_name(m->dtype),
	         m->dev_index < 0 ? "cpu" : m->device);
	msg_warn("%s: running in %s (%s)", m->fallback, model_dtype_name(next), why);
	m->dtype = next;
	return 1;
}

/* One forward pass of mod on host data in the model's precision and layout; NULL with tch_last_error(). */
static tch_value *call(const struct model *m, tch_module *mod, const void *host, int src, const int64_t *shape,
                       int ndim)
{
	const struct tch_api *T = m->T;
	int floating = src == TCH_F16 || src == TCH_F32 || src == TCH_F64;
	tch_value *in, *out = NULL;
	in = T->tch_tensor_from(host, src, shape, ndim, floating ? model_float_type(m) : src, m->device,
	                        ndim == 4 && m->channels_last);
	if (in)
		out = T->tch_module_call(mod, "forward", &in, 1, m->autocast);
	T->tch_value_free(in);
	return out;
}

double model_optimize_tolerance(const struct model *m)
{
	if (m->autocast || m->dtype == TCH_BF16)
		return 5e-2;
	return m->dtype == TCH_F16 ? 1e-2 : 1e-3;
}

int model_optimize(struct model *m, const void *host, int src, const int64_t *shape, int ndim, const tch_value *ref,
                   int warn)
{
	const struct tch_api *T = m->T;
	double t0 = now_ms(), tol = model_optimize_tolerance(m);
	char refused[2][ERRLEN] = {"", ""};

	for (int level = 2; level >= 1; level--) {
		char *why = refused[level - 1];
		const char *step = level == 2 ? "optimize_for_inference" : "freezing";
		double diff, big;
		tch_value *out = NULL;
		tch_module *cand = T->tch_module_optimized(m->mod, level);
		if (cand && (out = call(m, cand, host, src, shape, ndim)) &&
		    T->tch_value_max_diff(ref, out, &diff, &big) == 0 && diff <= tol * (big > 1.0 ? big : 1.0)) {
			T->tch_value_free(out);
			T->tch_module_free(m->mod);
			m->mod = cand;
			m->optimized = level;
			if (level == 2)
				msg_fmt(m->optimize_why, sizeof m->optimize_why, "frozen and optimize_for_inference");
			else
				msg_fmt(m->optimize_why, sizeof m->optimize_why, "frozen only: %s", refused[1]);
			break;
		}
		if (!cand)
			msg_fmt(why, ERRLEN, "%s was refused (%s)", step, T->tch_last_error());
		else if (!out)
			msg_fmt(why, ERRLEN, "%s failed on the batch (%s)", step, T->tch_last_error());
		else if (T->tch_value_max_diff(ref, out, &diff, &big) < 0)
			msg_fmt(why, ERRLEN, "%s changed the output (%s)", step, T->tch_last_error());
		else
			msg_fmt(why, ERRLEN, "%s changed the output by %.3g (tolerance %.3g)", step, diff,
			        tol * (big > 1.0 ? big : 1.0));
		T->tch_value_free(out);
		T->tch_module_free(cand);
	}
	if (!m->optimized)
		msg_fmt(m->optimize_why, sizeof m->optimize_why, "not optimised: %s", refused[0]);
	if (warn && m->optimized != 2)
		msg_warn("--optimize: %s: running the module %s", refused[m->optimized],
		         m->optimized ? "frozen only" : "as loaded");
	m->optimize_ms = now_ms() - t0;
	return m->optimized > 0;
}

tch_value *model_forward(struct model *m, const void *host, int src, const int64_t *shape, int ndim, int *oom,
                         char *err, size_t errlen)
{
	const struct tch_api *T = m->T;

	*oom = 0;
	for (;;) {
		tch_value *out = call(m, m->mod, host, src, shape, ndim);
		if (out)
			return out;
		msg_fmt(err, errlen, "%s", T->tch_last_error());
		if ((*oom = T->tch_error_is_oom(err)))
			return NULL;
		if (m->optimized) { /* checked on one batch only: the module as loaded decides */
			char why[ERRLEN];
			msg_fmt(why, sizeof why, "it failed on a later batch (%s)", err);
			if (reload(m, m->dtype, why) == 0)
				continue;
		}
		if (T->tch_error_is_dtype_missing(err) && model_fall_back(m, err))
			continue;
		if (ndim == 4 && m->channels_last && m->layout_auto) {
			/* e.g. a model that view()s its input: contiguous from now on */
			m->channels_last = 0;
			msg_warn("channels-last input failed (%s): running contiguous", err);
			continue;
		}
		return NULL;
	}
}

int model_npy_type(enum npy_dtype t)
{
	switch (t) {
	case NPY_BOOL: return TCH_BOOL;
	case NPY_U8: return TCH_U8;
	case NPY_I8: return TCH_I8;
	case NPY_I16: return TCH_I16;
	case NPY_I32: return TCH_I32;
	case NPY_I64: return TCH_I64;
	case NPY_F16: return TCH_F16;
	case NPY_F32: return TCH_F32;
	case NPY_F64: return TCH_F64;
	default: return -1;
	}
}
