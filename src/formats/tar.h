/* STUB until the stream-readers branch lands */
#ifndef TINFER_TAR_H
#define TINFER_TAR_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
struct byte_src { ssize_t (*read)(void *ctx, void *buf, size_t n); void *ctx; };
struct tar_reader;
struct tar_member { char *name; uint64_t size; int regular; };
struct tar_reader *tar_open(struct byte_src src);
int tar_is_header(const unsigned char *block);
int tar_next(struct tar_reader *r, struct tar_member *m, char *err, size_t errlen);
unsigned char *tar_read(struct tar_reader *r, size_t max, size_t *len, char *err, size_t errlen);
int tar_skip(struct tar_reader *r, char *err, size_t errlen);
void tar_close(struct tar_reader *r);
#endif
