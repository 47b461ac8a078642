/*
 * shim.h — the libtorch shim (build/libtinfer_tch.so), mapped on first
 * need.  Nothing before the first forward pass calls engine_get(), so
 * --help, models, info and input errors found early never load libtorch.
 */
#ifndef TINFER_ENGINE_H
#define TINFER_ENGINE_H

#include <stddef.h>
#include "tch/tch.h"

struct tch_api {
#define TCH_POINTER(ret, name, args) ret(*name) args;
	TCH_API(TCH_POINTER)
#undef TCH_POINTER
};

/*
 * Returns the shim's entry points, loading it on the first call: from
 * $TINFER_TCH_LIB, else where paths.h says.  On error returns NULL with a one-line reason in err.
 */
const struct tch_api *engine_get(char *err, size_t errlen);

/*
 * The version of the libtorch headers the shim that engine_get() would
 * load was compiled against, read from its file without loading it (a
 * millisecond, not libtorch's half second): into buf, 0; -1 when the shim
 * is missing or carries no stamp.
 */
int engine_built_against(char *buf, size_t len);

#endif
