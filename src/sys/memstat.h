/*
 * memstat.h — the process's memory and time, from the kernel's own
 * accounting (/proc/self/status: VmRSS and VmHWM).
 */
#ifndef TINFER_MEMSTAT_H
#define TINFER_MEMSTAT_H

#include <stdint.h>

/* Current resident set size in bytes; -1 when unknown. */
int64_t mem_rss(void);
/* Peak resident set size (high-water mark) in bytes; -1 when unknown. */
int64_t mem_peak_rss(void);
/* Monotonic clock in milliseconds. */
double now_ms(void);

#endif
