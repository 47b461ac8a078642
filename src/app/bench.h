/*
 * bench.h — `tinfer bench`: one load, then every combination of the listed
 * batch sizes (and, for segment models, points and prompt batches) timed
 * over --iters iterations after --warmup, on a real input preprocessed as
 * `run` does or on seeded synthetic ones; latency percentiles, items per
 * second, peak RSS and VRAM per configuration, and a regression gate
 * against an earlier result (--baseline).
 */
#ifndef TINFER_BENCH_H
#define TINFER_BENCH_H

#include "cli/opts.h"

/* Runs the command; returns the exit status (1 when --baseline finds a regression). */
int bench_main(const struct opts *o, double t_start);

#endif
