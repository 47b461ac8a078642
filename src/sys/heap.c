/*
 * heap.c — transparent huge pages for the C heap.
 *
 * A batch's tensors are freed when it ends and allocated again by the next
 * one; glibc hands large blocks back to the kernel, and each batch faults the
 * same memory in again, 4 KiB at a time.  On this project's VM a page fault
 * costs ~25 us: the faces detector at batch 8 spent two thirds of its forward
 * passes in the kernel (354,000 faults for 24 photos), the digits model at
 * batch 16 took 18 ms a batch instead of 1.3.  Backed by 2 MiB pages the same
 * runs take 21,500 and 7,700 faults, forward passes 2.4x and 14x faster, and
 * peak RSS unchanged (bench/README.md).
 *
 * glibc reads its tunables once, at start-up, so the only way for a program
 * to ask for them is to start again with them set: one exec, ~1 ms, before
 * anything is read or loaded.  GLIBC_TUNABLES that already name
 * glibc.malloc.hugetlb (any value) are the user's choice and kept.
 */
#include "sys/heap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TUNABLE "glibc.malloc.hugetlb"

/* 1 when the kernel gives huge pages only to regions that ask (madvise). */
static int thp_on_request(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof buf, f))
		buf[0] = '\0';
	fclose(f);
	return strstr(buf, "[madvise]") != NULL;
}

void heap_use_huge_pages(char **argv)
{
	const char *old = getenv("GLIBC_TUNABLES");
	char *val;
	size_t n;

	if ((old && strstr(old, TUNABLE)) || !thp_on_request())
		return;
	n = (old ? strlen(old) + 1 : 0) + sizeof TUNABLE "=1";
	if (!(val = malloc(n)))
		return;
	snprintf(val, n, "%s%s" TUNABLE "=1", old ? old : "", old && *old ? ":" : "");
	if (setenv("GLIBC_TUNABLES", val, 1) == 0)
		execv("/proc/self/exe", argv);
	/* Could not: run as we are, with the environment as it was. */
	if (old)
		setenv("GLIBC_TUNABLES", old, 1);
	else
		unsetenv("GLIBC_TUNABLES");
	free(val);
}
