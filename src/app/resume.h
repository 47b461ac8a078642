/*
 * resume.h — `--resume`: which inputs already have an "ok": true record in
 * the output file, so that they are skipped and the rest is appended.
 *
 * The inputs are not listed up front (they stream in), so what is kept is
 * a set of 128-bit hashes of the names that are done: 16 bytes per done
 * input in a table kept at most half full (32 bytes per done input), and
 * nothing for inputs that failed or were never run.  Names match after
 * the harmless spelling differences are removed: "./x", "x" and ".//x"
 * are one input.  A crop (--crop-from) is its source's name and its box's
 * index.
 */
#ifndef TINFER_RESUME_H
#define TINFER_RESUME_H

#include <stddef.h>

struct resume;

/*
 * Reads the JSON Lines file at path (a missing file is an empty one) and
 * rewrites it, atomically, keeping the first ok record of each input and
 * dropping failed records (their inputs run again: each input must end with
 * exactly one record) and a torn last line left by a kill.  Returns the set,
 * with *done the number of inputs in it, or NULL with a reason in err.
 */
struct resume *resume_open(const char *path, size_t *done, char *err, size_t errlen);

/* 1 when input name (with crop index det, or -1) has an ok record. */
int resume_done(const struct resume *r, const char *name, long det);

/*
 * 1 + the highest "row" (of a --save-dir matrix, embed) among the records
 * kept, 0 when none has one; -1 for no resume (r NULL).
 */
long long resume_rows(const struct resume *r);

/* Bytes the set holds. */
size_t resume_bytes(const struct resume *r);

void resume_free(struct resume *r);

#endif
