/*
 * paths.h — where tinfer finds its own files, relative to the program so
 * that a build tree and any install prefix work without rebuilding:
 *
 *   build tree:  build/tinfer, build/libtinfer_tch.so, samples/models.json
 *   installed:   PREFIX/bin/tinfer, PREFIX/lib/tinfer/libtinfer_tch.so,
 *                PREFIX/share/tinfer/samples/models.json
 */
#ifndef TINFER_PATHS_H
#define TINFER_PATHS_H

#include <stddef.h>

/*
 * Writes to out the first existing file among the candidates for `what`
 * (PATH_SHIM or PATH_SAMPLES), as an absolute path.  Returns 0, or -1 when
 * none exists (out then holds the installed location, for messages).
 */
enum path_kind { PATH_SHIM, PATH_SAMPLES };
int path_find(enum path_kind what, char *out, size_t len);

#endif
