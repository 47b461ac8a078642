/*
 * memtrace.h — memory over time (--memory-trace, --plot): a thread samples
 * RSS, its high-water mark and, on CUDA, VRAM every few milliseconds; the
 * program marks its phases (start, load, first batch, steady state); at the
 * end the samples go to a CSV file and, if asked, an SVG plot with the
 * phases marked, so that a person sees where memory goes.
 */
#ifndef TINFER_MEMTRACE_H
#define TINFER_MEMTRACE_H

#include "engine/shim.h"

/*
 * Starts sampling every interval_ms.  0, or -1 with a reason in err.  One
 * trace per process; the functions below do nothing when none was started.
 */
int memtrace_start(int interval_ms, char *err, size_t errlen);

/* VRAM of CUDA device dev from now on (T's allocator figures). */
void memtrace_vram(const struct tch_api *T, int dev);

/* Marks the start of a phase ("load", "first batch", "steady", ...); name is copied.  The
 * phase goes on when name is the current one. */
void memtrace_phase(const char *name);

/*
 * Stops sampling and writes the CSV (t_ms, rss_bytes, peak_rss_bytes,
 * vram_allocated_bytes, vram_reserved_bytes, phase) to csv_path and, when
 * svg_path is given, the plot.  0, or -1 with a reason in err.
 */
int memtrace_finish(const char *csv_path, const char *svg_path, const char *title, char *err, size_t errlen);

#endif
