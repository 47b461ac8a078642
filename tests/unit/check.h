/*
 * check.h — the smallest unit-test harness: CHECK() prints one "PASS name" or
 * "FAIL name: why" line per assertion; check_done() returns the exit status.
 * tests/run.sh counts the lines.
 */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>
#include <stdlib.h>

static int check_failed_;

#define CHECK(cond, name, ...)                                              \
	do {                                                                \
		if (cond) {                                                 \
			printf("PASS %s\n", name);                          \
		} else {                                                    \
			check_failed_++;                                    \
			printf("FAIL %s: %s:%d: ", name, __FILE__, __LINE__); \
			printf(__VA_ARGS__);                                \
			printf("\n");                                       \
		}                                                           \
		fflush(stdout);                                             \
	} while (0)

static inline int check_done(void) { return check_failed_ ? 1 : 0; }

/* Reads a whole fixture into a malloc'd NUL-terminated buffer; NULL if unreadable. */
static inline unsigned char *check_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;
	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = 0;
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}
#endif
