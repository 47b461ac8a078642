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
	struct name {
		struct name *next;
		char s[];
	} *names;                   /* copies of the phases' names */
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
	struct name *n;
	if (!tr.on || (tr.phase && !strcmp(tr.phase, name)))
		return;
	if (!(n = malloc(sizeof *n + strlen(name) + 1)))
		return; /* the phase before goes on */
	strcpy(n->s, name);
	pthread_mutex_lock(&tr.lock);
	n->next = tr.names;
	tr.names = n;
	tr.phase = n->s;
	pthread_mutex_unlock(&tr.lock);
	take(); /* every phase starts with a sample */
}

/* Estimated width in pixels of text in a sans-serif face of size px: 0.62 em a character, wider than
 * DejaVu Sans's and Liberation Sans's digits and lower case, so that boxes placed apart stay apart. */
static double text_width(const char *text, double px) { return 0.62 * px * (double)strlen(text); }

/*
 * The phases' labels: horizontal, at the top of the plot, each just right
 * of its line (left of it near the right edge), in the first row where it
 * overlaps no label already placed; a label that finds no free row among
 * MAXROWS is left out (its line stays).  Stores each label's row, -1 when
 * left out, in row[], and its left edge in lx[].
 */
#define MAXROWS 8
static void place_labels(const double *x, const char *const *name, int n, double left, double right, int *row,
                         double *lx)
{
	double used[MAXROWS][2 * 64];
	int nused[MAXROWS] = {0};
	for (int i = 0; i < n; i++) {
		double w = text_width(name[i], 11), a = x[i] + 3, b = a + w;
		if (b > right)
			a = x[i] - 3 - w, b = x[i] - 3;
		if (a < left)
			a = left, b = left + w;
		row[i] = -1;
		lx[i] = a;
		for (int r = 0; r < MAXROWS && row[i] < 0; r++) {
			int free_here = nused[r] < 64;
			for (int k = 0; k < nused[r] && free_here; k++)
				if (a < used[r][2 * k + 1] + 4 && used[r][2 * k] < b + 4)
					free_here = 0;
			if (free_here) {
				used[r][2 * nused[r]] = a;
				used[r][2 * nused[r] + 1] = b;
				nused[r]++;
				row[i] = r;
			}
		}
	}
}

/* Writes s with XML's special characters escaped. */
static void xml_text(FILE *f, const char *s)
{
	for (const char *c = s; *c; c++)
		fputs(*c == '<' ? "&lt;" : *c == '>' ? "&gt;" : *c == '&' ? "&amp;" : (char[2]){*c, 0}, f);
}

/* Writes the plot: RSS and its high-water mark over time, phases as bands. */
static int write_svg(const char *path, const char *title)
{
	const double W = 800, H = 420, L = 70, R = 20, T = 40, B = 50;
	double tmax = 1, ymax = 1;
	size_t np = 0;
	double *px, *lx;
	const char **pn;
	int *row;
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	px = malloc((tr.n + 1) * sizeof *px);
	lx = malloc((tr.n + 1) * sizeof *lx);
	pn = malloc((tr.n + 1) * sizeof *pn);
	row = malloc((tr.n + 1) * sizeof *row);
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
	xml_text(f, title);
	fprintf(f, "</text>\n");
	/* phases: a line where each begins; the labels go on top of the series, below */
	for (size_t i = 0; px && pn && row && lx && i < tr.n; i++)
		if (i == 0 || tr.s[i].phase != tr.s[i - 1].phase) {
			px[np] = X(tr.s[i].t);
			pn[np++] = tr.s[i].phase ? tr.s[i].phase : "";
			fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n",
			        px[np - 1], T, px[np - 1], H - B);
		}
	if (np)
		place_labels(px, pn, (int)np, L, W - R, row, lx);
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
	/* each phase's label where it fits (place_labels), haloed in white to stay legible over a series */
	for (size_t i = 0; i < np; i++) {
		if (row[i] < 0)
			continue;
		fprintf(f, "<text class=\"phase\" x=\"%.1f\" y=\"%.0f\" font-size=\"11\" fill=\"#555\" stroke=\"white\" "
		           "stroke-width=\"3\" paint-order=\"stroke\">", lx[i], T + 12 + 14.0 * row[i]);
		xml_text(f, pn[i]);
		fprintf(f, "</text>\n");
	}
	free(lx);
	free(px);
	free(pn);
	free(row);
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
	tr.phase = NULL;
	while (tr.names) {
		struct name *next = tr.names->next;
		free(tr.names);
		tr.names = next;
	}
	return rc;
}
