/* memtrace.c — see memtrace.h. */
#include "app/memtrace.h"
#include "sys/memstat.h"
#include "sys/msg.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sample {
	double t;                   /* ms since the trace started */
	int64_t rss, peak, vram_alloc, vram_res;
	const char *phase;
};

/* The one trace of the process: the sampler thread and the main thread share it under lock. */
static struct {
	int on;
	pthread_t thread;
	pthread_mutex_t lock;
	int stop;
	int interval_ms;
	double t0;
	struct sample *s;
	size_t n, cap;
	const char *phase;
	const struct tch_api *T;
	int dev;
} tr = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Takes one sample under the lock. */
static void take(void)
{
	struct sample x = {now_ms() - tr.t0, mem_rss(), mem_peak_rss(), -1, -1, NULL};
	pthread_mutex_lock(&tr.lock);
	if (tr.T) {
		struct tch_vram v;
		if (tr.T->tch_cuda_vram(tr.dev, &v) == 0) {
			x.vram_alloc = v.allocated;
			x.vram_res = v.reserved;
		}
	}
	x.phase = tr.phase;
	if (tr.n == tr.cap) {
		size_t cap = tr.cap ? tr.cap * 2 : 4096;
		struct sample *g = realloc(tr.s, cap * sizeof *g);
		if (!g) {
			pthread_mutex_unlock(&tr.lock);
			return; /* a trace with a gap is better than none */
		}
		tr.s = g;
		tr.cap = cap;
	}
	tr.s[tr.n++] = x;
	pthread_mutex_unlock(&tr.lock);
}

static void *sampler(void *arg)
{
	struct timespec ts = {0, 0};
	ts.tv_nsec = (long)tr.interval_ms * 1000000L;
	for (;;) {
		int stop;
		pthread_mutex_lock(&tr.lock);
		stop = tr.stop;
		pthread_mutex_unlock(&tr.lock);
		if (stop)
			return arg;
		take();
		nanosleep(&ts, NULL);
	}
}

int memtrace_start(int interval_ms, char *err, size_t errlen)
{
	int rc;
	tr.interval_ms = interval_ms;
	tr.t0 = now_ms();
	tr.phase = "start";
	take(); /* the first sample, before the program moves on */
	if ((rc = pthread_create(&tr.thread, NULL, sampler, NULL)) != 0) {
		msg_fmt(err, errlen, "--memory-trace: cannot start the sampler: %s", strerror(rc));
		return -1;
	}
	tr.on = 1;
	return 0;
}

void memtrace_vram(const struct tch_api *T, int dev)
{
	pthread_mutex_lock(&tr.lock);
	tr.T = T;
	tr.dev = dev;
	pthread_mutex_unlock(&tr.lock);
}

void memtrace_phase(const char *name)
{
	if (!tr.on)
		return;
	pthread_mutex_lock(&tr.lock);
	tr.phase = name;
	pthread_mutex_unlock(&tr.lock);
	take(); /* every phase starts with a sample */
}

/* Writes the plot: RSS and its high-water mark over time, phases as bands. */
static int write_svg(const char *path, const char *title)
{
	const double W = 800, H = 420, L = 70, R = 20, T = 40, B = 50;
	double tmax = 1, ymax = 1;
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	for (size_t i = 0; i < tr.n; i++) {
		if (tr.s[i].t > tmax)
			tmax = tr.s[i].t;
		if ((double)tr.s[i].peak > ymax)
			ymax = (double)tr.s[i].peak;
		if ((double)tr.s[i].vram_res > ymax)
			ymax = (double)tr.s[i].vram_res;
	}
	ymax = ymax / 1048576.0 * 1.1;
#define X(t) (L + (t) / tmax * (W - L - R))
#define Y(mib) (H - B - (mib) / ymax * (H - T - B))
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	           "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
	        W, H, W, H);
	fprintf(f, "<text x=\"%.0f\" y=\"22\" font-size=\"15\">", L);
	for (const char *c = title; *c; c++) /* XML-escape the title */
		fputs(*c == '<' ? "&lt;" : *c == '>' ? "&gt;" : *c == '&' ? "&amp;" : (char[2]){*c, 0}, f);
	fprintf(f, "</text>\n");
	/* phases: a line and a label where each begins */
	for (size_t i = 0; i < tr.n; i++)
		if (i == 0 || tr.s[i].phase != tr.s[i - 1].phase)
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>"
			           "<text x=\"%.1f\" y=\"%.0f\" fill=\"#555\" text-anchor=\"end\" transform=\"rotate(-90 %.1f %.0f)\">%s</text>\n",
			        X(tr.s[i].t), T, X(tr.s[i].t), H - B, X(tr.s[i].t) + 12, T + 4, X(tr.s[i].t) + 12, T + 4,
			        tr.s[i].phase ? tr.s[i].phase : "");
	/* axes and ticks */
	fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, H - B, W - R, H - B);
	fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"black\"/>\n", L, T, L, H - B);
	for (int k = 0; k <= 5; k++) {
		double mib = ymax * k / 5, t = tmax * k / 5;
		fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n", L - 6, Y(mib) + 4, mib);
		fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n", X(t), H - B + 18, t);
	}
	fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">time (ms)</text>\n", (L + W - R) / 2, H - 10);
	fprintf(f, "<text x=\"16\" y=\"%.0f\" transform=\"rotate(-90 16 %.0f)\" text-anchor=\"middle\">MiB</text>\n",
	        (T + H - B) / 2, (T + H - B) / 2);
	/* the series */
	{
		static const struct {
			const char *name, *colour;
		} series[] = {{"RSS", "#1f77b4"}, {"peak RSS", "#d62728"}, {"VRAM allocated", "#2ca02c"},
		              {"VRAM reserved", "#9467bd"}};
		for (int k = 0; k < 4; k++) {
			int any = 0;
			for (size_t i = 0; i < tr.n; i++) {
				int64_t v = k == 0 ? tr.s[i].rss : k == 1 ? tr.s[i].peak : k == 2 ? tr.s[i].vram_alloc
				                                                                  : tr.s[i].vram_res;
				if (v < 0)
					continue;
				if (!any)
					fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
					        series[k].colour);
				fprintf(f, "%s%.1f,%.1f", any ? " " : "", X(tr.s[i].t), Y((double)v / 1048576.0));
				any = 1;
			}
			if (any)
				fprintf(f, "\"/>\n<text x=\"%.0f\" y=\"22\" fill=\"%s\" text-anchor=\"end\">%s</text>\n",
				        W - R - 110.0 * (3 - k), series[k].colour, series[k].name);
		}
	}
#undef X
#undef Y
	fprintf(f, "</svg>\n");
	return fclose(f) == 0 ? 0 : -1;
}

int memtrace_finish(const char *csv_path, const char *svg_path, const char *title, char *err, size_t errlen)
{
	FILE *f;
	int rc = 0;
	if (!tr.on)
		return 0;
	take();
	pthread_mutex_lock(&tr.lock);
	tr.stop = 1;
	pthread_mutex_unlock(&tr.lock);
	pthread_join(tr.thread, NULL);
	tr.on = 0;
	if (!(f = fopen(csv_path, "we"))) {
		msg_fmt(err, errlen, "--memory-trace '%s': %s", csv_path, strerror(errno));
		rc = -1;
	} else {
		fprintf(f, "t_ms,rss_bytes,peak_rss_bytes,vram_allocated_bytes,vram_reserved_bytes,phase\n");
		for (size_t i = 0; i < tr.n; i++) {
			const struct sample *x = &tr.s[i];
			fprintf(f, "%.1f,%lld,%lld,", x->t, (long long)x->rss, (long long)x->peak);
			if (x->vram_alloc >= 0)
				fprintf(f, "%lld,%lld,", (long long)x->vram_alloc, (long long)x->vram_res);
			else
				fputs(",,", f);
			fprintf(f, "%s\n", x->phase ? x->phase : "");
		}
		if ((ferror(f) != 0) + (fclose(f) != 0)) {
			msg_fmt(err, errlen, "--memory-trace '%s': %s", csv_path, strerror(errno));
			rc = -1;
		}
	}
	if (rc == 0 && svg_path && write_svg(svg_path, title) < 0) {
		msg_fmt(err, errlen, "--plot '%s': %s", svg_path, strerror(errno));
		rc = -1;
	}
	free(tr.s);
	tr.s = NULL;
	tr.n = tr.cap = 0;
	return rc;
}
