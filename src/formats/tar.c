/* STUB */
#include "formats/tar.h"
struct tar_reader *tar_open(struct byte_src src) { (void)src; return 0; }
int tar_is_header(const unsigned char *block) { (void)block; return 0; }
int tar_next(struct tar_reader *r, struct tar_member *m, char *err, size_t errlen) { return 0; }
unsigned char *tar_read(struct tar_reader *r, size_t max, size_t *len, char *err, size_t errlen) { return 0; }
int tar_skip(struct tar_reader *r, char *err, size_t errlen) { return 0; }
void tar_close(struct tar_reader *r) { (void)r; }
