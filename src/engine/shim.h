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


#endif
