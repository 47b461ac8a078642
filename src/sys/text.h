/*
 * text.h — bytes that are meant to be text: input names come from file
 * systems, tar archives and pipes, where they are bytes, not UTF-8.  JSON
 * wants UTF-8, so a record shows such a name with each invalid byte as
 * U+FFFD and keeps its exact bytes in base64.
 */
#ifndef TINFER_TEXT_H
#define TINFER_TEXT_H

#include <stddef.h>

/* 1 when s[0..n) is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
int text_is_utf8(const char *s, size_t n);

/* s[0..n) as UTF-8, each byte of an invalid sequence replaced by U+FFFD;
 * malloc'd and NUL-terminated, NULL when out of memory. */
char *text_utf8_lossy(const char *s, size_t n);

/* Standard base64 (RFC 4648, padded) of p[0..n); malloc'd, NULL when out of memory. */
char *text_base64(const unsigned char *p, size_t n);

/* Decodes standard base64 (padding optional, no whitespace); malloc'd with
 * *len set and a NUL after the bytes; NULL when malformed or out of memory. */
unsigned char *text_unbase64(const char *s, size_t *len);

#endif
