/* report.c — see report.h. */
#include "app/report.h"
#include "app/output.h"
#include "sys/memstat.h"
#include "sys/msg.h"
#include "sys/num.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

json_t *report_ms(double from, double to)
{
	return from > 0 && to >= from ? json_real(num_round(to - from, 1)) : json_null();
}

static json_t *bytes_or_null(int64_t v) { return v > 0 ? json_integer(v) : json_null(); }

void report_take_model(struct run_stats *st, const struct model *m, int has_image_input)
{
	struct tch_vram v;
	if (!m->mod) {
		snprintf(st->device, sizeof st->device, "none");
		return;
	}
	snprintf(st->device, sizeof st->device, "%s", m->device);
	snprintf(st->fallback, sizeof st->fallback, "%s", m->fallback);
	st->dtype = m->dtype;
	st->autocast = m->autocast;
	st->libtorch = m->T->tch_version();
	st->blas = m->T->tch_blas();
	st->optimized = m->optimized;
	st->optimize_ms = m->optimize_ms;
	if (m->optimize_why[0])
		snprintf(st->optimize_why, sizeof st->optimize_why, "%s", m->optimize_why);
	st->t_load0 = m->t_load0;
	st->t_load1 = m->t_load1;
	st->ram_after_load = m->ram_after_load;
	st->vram_load_peak = m->vram_load_peak;
	st->vram_limit = m->vram_limit;
	if (m->T->tch_get_threads() > 0) /* what libtorch runs with, not what was asked */
		st->threads = m->T->tch_get_threads();
	if (m->dev_index >= 0 && m->T->tch_cuda_vram(m->dev_index, &v) == 0) {
		st->vram_peak_allocated = v.peak_allocated;
		st->vram_peak_reserved = v.peak_reserved;
	}
	st->memory_format = has_image_input ? (m->channels_last ? "channels-last" : "contiguous") : NULL;
}

json_t *report_config(const struct run_stats *st, const struct model_spec *spec)
{
	json_t *o = json_object();
	json_object_set_new(o, "tool", json_string("tinfer"));
	json_object_set_new(o, "version", json_string(TINFER_VERSION));
	json_object_set_new(o, "libtorch", st->libtorch ? json_string(st->libtorch) : json_null());
	json_object_set_new(o, "blas", st->blas ? json_string(st->blas) : json_null());
	json_object_set_new(o, "model", spec->name ? json_string(spec->name) : json_null());
	json_object_set_new(o, "file", spec->file ? json_string(spec->file) : json_null());
	json_object_set_new(o, "task", st->task ? json_string(st->task) : json_null());
	json_object_set_new(o, "device", json_string(st->device));
	json_object_set_new(o, "dtype", json_string(model_dtype_name(st->dtype)));
	json_object_set_new(o, "dtype_requested", json_string(model_dtype_name(st->dtype_requested)));
	json_object_set_new(o, "fallback", st->fallback[0] ? json_string(st->fallback) : json_null());
	json_object_set_new(o, "autocast", json_boolean(st->autocast));
	json_object_set_new(o, "autocast_requested", json_boolean(st->autocast_requested));
	/* what autocast computes in: fp16 on CUDA, bf16 on the CPU, whatever the weights' dtype */
	json_object_set_new(o, "autocast_dtype", !st->autocast ? json_null()
	                                         : json_string(strncmp(st->device, "cuda", 4) ? "bf16" : "fp16"));
	json_object_set_new(o, "fast_decode", json_boolean(st->fast_decode));
	json_object_set_new(o, "memory_format", st->memory_format ? json_string(st->memory_format) : json_null());
	json_object_set_new(o, "threads", json_integer(st->threads));
	json_object_set_new(o, "time_ms",
	                    json_pack("{s:o, s:o}", "startup",
	                              report_ms(st->t_start, st->t_load0 > 0 ? st->t_load0 : st->t_end), "load",
	                              report_ms(st->t_load0, st->t_load1)));
	json_object_set_new(o, "ram_bytes",
	                    json_pack("{s:o, s:o}", "start", bytes_or_null(st->ram_start), "after_load",
	                              bytes_or_null(st->ram_after_load)));
	json_object_set_new(o, "vram_bytes", json_pack("{s:o, s:o}", "load_peak", bytes_or_null(st->vram_load_peak),
	                                               "limit", bytes_or_null(st->vram_limit)));
	return o;
}

int report_write(const struct run_stats *st, const struct model_spec *spec, const char *path, int quiet)
{
	double total_s = (st->t_end - st->t_start) / 1000.0;
	int64_t peak = mem_peak_rss();
	json_t *o, *t;

	if (!path) {
		if (!quiet)
			msg_info("%zu inputs: %zu ok, %zu failed in %.2f s (%.1f/s); model %s on %s %s%s, "
			         "load %.2f s; peak RSS %.1f MiB",
			         st->inputs, st->ok, st->failed, total_s, total_s > 0 ? (double)st->ok / total_s : 0.0,
			         spec->name ? spec->name : "?", st->device, model_dtype_name(st->dtype),
			         st->autocast ? "+autocast" : "",
			         st->t_load1 > 0 ? (st->t_load1 - st->t_load0) / 1000.0 : 0.0, (double)peak / 1048576.0);
		return 0;
	}
	o = report_config(st, spec);
	json_object_set_new(o, "batch_size", json_integer(st->batch_size));
	json_object_set_new(o, "inputs", json_integer((json_int_t)st->inputs));
	json_object_set_new(o, "ok", json_integer((json_int_t)st->ok));
	json_object_set_new(o, "failed", json_integer((json_int_t)st->failed));
	json_object_set_new(o, "skipped", json_integer((json_int_t)st->skipped));
	json_object_set_new(o, "oom_retries", json_integer(st->oom_retries));
	json_object_set_new(o, "records", json_integer((json_int_t)st->records));
	json_object_set_new(o, "not_run", json_integer((json_int_t)st->not_run));
	json_object_set_new(o, "error", st->error ? json_string(st->error) : json_null());
	json_object_set_new(o, "interrupted", st->interrupted ? json_string(st->interrupted) : json_null());
	t = json_object_get(o, "time_ms");
	json_object_set_new(t, "first_result", report_ms(st->t_start, st->t_first_result));
	json_object_set_new(t, "total", report_ms(st->t_start, st->t_end));
	json_object_set_new(t, "decode", json_real(num_round(st->decode_ms, 1)));
	json_object_set_new(t, "forward", json_real(num_round(st->forward_ms, 1)));
	json_object_set_new(t, "post", json_real(num_round(st->post_ms, 1)));
	json_object_set_new(t, "wait", json_real(num_round(st->wait_ms, 1)));
	json_object_set_new(t, "optimize", json_real(num_round(st->optimize_ms, 1)));
	if (st->optimize_mode) {
		static const char *const level[] = {"none", "frozen", "frozen+optimize_for_inference"};
		json_object_set_new(o, "optimized", json_boolean(st->optimized > 0));
		json_object_set_new(o, "optimize", json_pack("{s:s, s:s, s:s}", "mode", st->optimize_mode, "ran",
		                                             level[st->optimized], "why",
		                                             st->optimize_why[0] ? st->optimize_why : "the model never ran"));
	}
	json_object_set_new(o, "items_per_s", json_real(total_s > 0 ? num_round((double)st->ok / total_s, 2) : 0.0));
	json_object_set_new(json_object_get(o, "ram_bytes"), "peak", bytes_or_null(peak));
	json_object_set_new(json_object_get(o, "vram_bytes"), "peak_allocated", bytes_or_null(st->vram_peak_allocated));
	json_object_set_new(json_object_get(o, "vram_bytes"), "peak_reserved", bytes_or_null(st->vram_peak_reserved));
	json_object_set_new(json_object_get(o, "vram_bytes"), "reserved_before_empty_cache",
	                    st->empty_cache ? json_integer(st->vram_reserved_before_empty) : json_null());
	json_object_set_new(json_object_get(o, "vram_bytes"), "reserved_after_empty_cache",
	                    st->empty_cache ? json_integer(st->vram_reserved_after_empty) : json_null());
	if (!strcmp(path, "-")) {
		json_dumpf(o, stderr, OUTPUT_JSON_FLAGS);
		fputc('\n', stderr);
	} else {
		FILE *f = fopen(path, "we");
		int bad = !f || json_dumpf(o, f, OUTPUT_JSON_FLAGS) < 0 || fputc('\n', f) == EOF;
		if ((f && fclose(f) != 0) || bad) {
			msg_error("--report '%s': %s", path, strerror(errno));
			json_decref(o);
			return -1;
		}
	}
	json_decref(o);
	return 0;
}
