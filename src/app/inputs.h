/*
 * inputs.h — the list of inputs of a run, in order: operands (files,
 * directories, "-"), --files-from, or paths on stdin.  Paths only: no input
 * is opened here, so nothing is read twice and the list of a million files
 * costs only its names.
 */
#ifndef TINFER_INPUTS_H
#define TINFER_INPUTS_H

#include <stddef.h>

struct input_list {
	char **paths;           /* n paths ("-" = stdin's bytes) */
	char **errors;          /* n entries: NULL, or why this entry cannot be an input */
	size_t n, cap;
};

struct input_opts {
	char **operands;
	int n_operands;
	const char *files_from;     /* NULL, a path, or "-" */
	int recursive;
	int null_sep;
	const char *const *exts;    /* file name endings taken from directories (NULL-terminated) */
};

/*
 * Builds the list.  A directory contributes its files with one of the given
 * endings (case-insensitive), sorted by name, descending only with
 * recursive; a directory that cannot be read, or a symlink loop, becomes
 * an entry with an error.  Returns 0, or -1 with a reason in err for a
 * usage problem (an unreadable --files-from, no inputs at all from a
 * terminal).
 */
int inputs_collect(const struct input_opts *io, struct input_list *out, char *err, size_t errlen);

/* Keeps only the entries at positions p with p mod n == i (n >= 1). */
void inputs_shard(struct input_list *l, size_t i, size_t n);

void inputs_free(struct input_list *l);

/*
 * Reads one input whole: a regular file of at most 2 GiB, or stdin's bytes
 * for "-".  Directories, FIFOs, devices and empty files are refused without
 * blocking.  Returns a malloc'd buffer, or NULL with a one-line reason.
 */
unsigned char *inputs_read(const char *path, size_t *len, char *err, size_t errlen);

#endif
