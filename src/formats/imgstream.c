/* STUB */
#include "formats/imgstream.h"
struct imgstream *imgstream_open(struct byte_src src) { (void)src; return 0; }
int imgstream_next(struct imgstream *s, size_t max, unsigned char **buf, size_t *len, char *err, size_t errlen) { return 0; }
void imgstream_close(struct imgstream *s) { (void)s; }
