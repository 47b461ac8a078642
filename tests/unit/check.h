/*
 * check.h — the smallest unit-test harness: CHECK() prints one "PASS name" or
 * "FAIL name: why" line per assertion; check_done() returns the exit status.
 * tests/run.sh counts the lines.
 */
#ifndef CHECK_H
#define CHECK_H
#include <stdio.h>

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
#endif
