/* model.c — see model.h. */
#include "model.h"
#include "memstat.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tch_dtype_of(enum dtype_opt d)
{
	return d == DT_FP16 ? TCH_F16 : d == DT_BF16 ? TCH_BF16 : TCH_F32;
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
	return m->autocast ? TCH_F32 : tch_dtype_of(m->dtype);
}

/* The device o->device names, as libtorch spells it; -1 with err when absent. */
static int pick_device(struct model *m, const char *want, char *err, size_t errlen)
{
	int ndev = m->T->tch_cuda_device_count();
	if (!strcmp(want, "auto")) {
		snprintf(m->device, sizeof m->device, "%s", ndev > 0 ? "cuda:0" : "cpu");
	} else if (!strncmp(want, "cuda", 4)) {
		int idx = want[4] == ':' ? atoi(want + 5) : 0; /* validated in opts.c */
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
	m->dev_index = !strncmp(m->device, "cuda:", 5) ? atoi(m->device + 5) : -1;
	return 0;
}

int model_open(struct model *m, const struct model_spec *spec, const struct opts *o, long threads,
               char *err, size_t errlen)
{
	memset(m, 0, sizeof *m);
	m->dev_index = -1;
	m->dtype = o->dtype;
	m->autocast = o->autocast;
	m->layout_auto = !strcmp(o->memory_format, "auto");
	/* Channels-last convolutions are about twice as fast on the CPU (Tiny
	 * YOLOv2 at batch 8: 1143 -> 563 ms) for the same numbers up to float
	 * rounding (1e-4 on its logits). */
	m->channels_last = strcmp(o->memory_format, "contiguous") != 0;
	m->t_load0 = now_ms();
	if (!(m->T = engine_get(err, errlen)))
		return EXIT_MODEL;
	m->T->tch_set_threads((int)threads);
	if (pick_device(m, o->device, err, errlen) < 0)
		return EXIT_USAGE;
	/* On the CPU the profiling executor's optimisations bring no fusion with
	 * libtorch's defaults, and its profiling runs make the first forward pass
	 * ~10x slower (53 ms against 6 ms for the digits model): off.  On CUDA
	 * its fusers can pay for themselves over a batch job: left on. */
	m->T->tch_set_optimize(m->dev_index >= 0);
	if (m->dev_index >= 0)
		m->T->tch_cuda_reset_peaks(m->dev_index);
	if (!(m->mod = m->T->tch_module_load(spec->file, m->device, tch_dtype_of(m->dtype)))) {
		msg_fmt(err, errlen, "model '%s': cannot load '%s': %s", spec->name, spec->file, m->T->tch_last_error());
		return EXIT_MODEL;
	}
	m->t_load1 = now_ms();
	m->ram_after_load = mem_rss();
	if (m->dev_index >= 0) {
		struct tch_vram v;
		if (m->T->tch_cuda_vram(m->dev_index, &v) == 0)
			m->vram_load_peak = v.peak_allocated;
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

int model_fall_back(struct model *m, const char *why)
{
	enum dtype_opt next;
	if (m->autocast) {
		m->autocast = 0;
		snprintf(m->fallback, sizeof m->fallback, "autocast kernels missing on %s: ran without", m->device);
		msg_warn("%s (%s)", m->fallback, why);
		return 1;
	}
	if (m->dtype == DT_FP32)
		return 0;
	next = m->dtype == DT_FP16 && m->dev_index < 0 ? DT_BF16 : DT_FP32;
	if (m->T->tch_module_to_dtype(m->mod, tch_dtype_of(next)) < 0)
		return 0;
	snprintf(m->fallback, sizeof m->fallback, "%s kernels missing on %s", dtype_name(m->dtype),
	         m->dev_index < 0 ? "cpu" : m->device);
	msg_warn("%s: running in %s (%s)", m->fallback, dtype_name(next), why);
	m->dtype = next;
	return 1;
}

tch_value *model_forward(struct model *m, const void *host, int src, const int64_t *shape, int ndim, int *oom,
                         char *err, size_t errlen)
{
	const struct tch_api *T = m->T;
	int floating = src == TCH_F16 || src == TCH_F32 || src == TCH_F64;

	*oom = 0;
	for (;;) {
		tch_value *in, *out = NULL;
		in = T->tch_tensor_from(host, src, shape, ndim, floating ? model_float_type(m) : src, m->device,
		                        ndim == 4 && m->channels_last);
		if (in)
			out = T->tch_module_call(m->mod, "forward", &in, 1, m->autocast);
		T->tch_value_free(in);
		if (out)
			return out;
		msg_fmt(err, errlen, "%s", T->tch_last_error());
		if ((*oom = T->tch_error_is_oom(err)))
			return NULL;
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
