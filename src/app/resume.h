/*
 * resume.h — `--resume`: which inputs of this run already have an
 * "ok": true record in the output file, so that they are skipped and the
 * rest is appended.
 */
#ifndef TINFER_RESUME_H
#define TINFER_RESUME_H

#include <stddef.h>

#include "app/inputs.h"

/*
 * Reads the JSON Lines file at path (a missing file is an empty one) and
 * rewrites it, atomically, keeping every complete record except the failed
 * ones of inputs in `in` (they are about to be retried, and each input must
 * end with exactly one record) and dropping a torn last line left by a kill.
 * Sets done[i] = 1 for every input i of `in` that has an ok record.
 * Returns the number of such inputs, or -1 with a reason in err.
 */
long resume_scan(const char *path, const struct input_list *in, unsigned char *done, char *err,
                 size_t errlen);

#endif
