/* sha256.h — SHA-256 of a file, for the bench report (the model's identity). */
#ifndef TINFER_SHA256_H
#define TINFER_SHA256_H

/* Writes the 64 hex digits and a NUL to hex; 0, or -1 with errno set. */
int sha256_file(const char *path, char hex[65]);

#endif
