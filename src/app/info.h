/*
 * info.h — `tinfer info`, `tinfer models` and `--version`: metadata only.  Neither
 * maps libtorch; weight sizes come from the archive's zip directory.
 */
#ifndef TINFER_INFO_H
#define TINFER_INFO_H

#include "cli/opts.h"

/* Each returns the process exit status. */
int info_main(const struct opts *o);
int models_main(const struct opts *o);

/* `tinfer --version`: tinfer's version and the libtorch its shim was built
 * against (read from the shim's file: libtorch is not loaded). */
int version_main(void);

#endif
