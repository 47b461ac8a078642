/*
 * progress.h — one self-rewriting line on stderr while a run goes on:
 * done/total, items per second, ETA and current RSS.  Only on a terminal
 * (or with --progress always); never mixed into stdout.
 */
#ifndef TINFER_PROGRESS_H
#define TINFER_PROGRESS_H

#include <stddef.h>

struct progress {
	int on;
	size_t total;
	double t0, last;            /* ms */
};

/* when: "auto" (stderr is a terminal), "always", "never". */
void progress_start(struct progress *p, const char *when, int quiet, size_t total);
/* Redraws the line (at most every 200 ms, and always when done == total). */
void progress_update(struct progress *p, size_t done, size_t failed);
/* Clears the line. */
void progress_end(struct progress *p);

#endif
