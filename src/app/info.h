/*
 * info.h — `tinfer info` and `tinfer models`: metadata only.  Neither
 * maps libtorch; weight sizes come from the archive's zip directory.
 */
#ifndef TINFER_INFO_H
#define TINFER_INFO_H

#include "cli/opts.h"

/* Each returns the process exit status. */
int info_main(const struct opts *o);
int models_main(const struct opts *o);

#endif
