/* memstat.c — see memstat.h. */
#include "sys/memstat.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Reads the "key:   N kB" line of /proc/self/status; bytes, or -1. */
static int64_t status_kb(const char *key)
{
	char line[256];
	size_t klen = strlen(key);
	int64_t v = -1;
	FILE *f = fopen("/proc/self/status", "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		long long kb;
		if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
		    sscanf(line + klen + 1, "%lld", &kb) == 1) {
			v = (int64_t)kb * 1024;
			break;
		}
	}
	fclose(f);
	return v;
}

int64_t mem_rss(void) { return status_kb("VmRSS"); }

int64_t mem_peak_rss(void) { return status_kb("VmHWM"); }

double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}
