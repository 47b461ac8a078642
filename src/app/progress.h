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
	double t0, last;            /* ms */
};

/* when: "auto" (stderr is a terminal), "always", "never". */
void progress_start(struct progress *p, const char *when, int quiet);
/*
 * Redraws the line (at most every 200 ms, and always when all are done):
 * done of total (total_known: the list was read to its end; else "so far"
 * and no ETA), failed, items/s, ETA, RSS.
 */
void progress_update(struct progress *p, size_t done, size_t failed, size_t total, int total_known);
/* Clears the line. */
void progress_end(struct progress *p);

#endif
