/* heap.h — how the C heap serves libtorch's tensors. */
#ifndef TINFER_HEAP_H
#define TINFER_HEAP_H

/*
 * Re-executes this program once with glibc's malloc asked to back its heap
 * and large blocks with transparent huge pages (GLIBC_TUNABLES
 * glibc.malloc.hugetlb=1), when the kernel gives them only on request
 * ("madvise" mode) and the environment does not already say.  Returns only
 * when it did not re-execute (nothing to do, or exec failed).
 */
void heap_use_huge_pages(char **argv);

#endif
