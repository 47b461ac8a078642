/* progress.c — see progress.h. */
#include "app/progress.h"
#include "sys/memstat.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void progress_start(struct progress *p, const char *when, int quiet)
{
	memset(p, 0, sizeof *p);
	p->on = !quiet && when && (!strcmp(when, "always") || (!strcmp(when, "auto") && isatty(STDERR_FILENO)));
	p->t0 = now_ms();
}

void progress_update(struct progress *p, size_t done, size_t failed, size_t total, int total_known)
{
	double t = now_ms(), rate, eta;
	long e;
	if (!p->on || (t - p->last < 200.0 && !(total_known && done >= total)))
		return;
	p->last = t;
	rate = t > p->t0 ? (double)done / ((t - p->t0) / 1000.0) : 0.0;
	if (!total_known) {
		fprintf(stderr, "\r\033[Ktinfer: %zu of %zu listed so far (%zu failed)  %.1f items/s  RSS %.0f MiB", done,
		        total, failed, rate, (double)mem_rss() / 1048576.0);
	} else {
		eta = rate > 0 && total > done ? (double)(total - done) / rate : 0.0;
		e = (long)(eta + 0.5);
		fprintf(stderr, "\r\033[Ktinfer: %zu/%zu (%zu failed)  %.1f items/s  ETA %ld:%02ld:%02ld  RSS %.0f MiB", done,
		        total, failed, rate, e / 3600, e / 60 % 60, e % 60, (double)mem_rss() / 1048576.0);
	}
	fflush(stderr);
}

void progress_end(struct progress *p)
{
	if (p->on) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}
