/* STUB */
#ifndef TINFER_IMGSTREAM_H
#define TINFER_IMGSTREAM_H
#include "formats/tar.h"
struct imgstream;
struct imgstream *imgstream_open(struct byte_src src);
int imgstream_next(struct imgstream *s, size_t max, unsigned char **buf, size_t *len, char *err, size_t errlen);
void imgstream_close(struct imgstream *s);
#endif
