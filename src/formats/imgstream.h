/*
 * imgstream.h — PNG and JPEG images back to back in one byte stream (what
 * `ffmpeg -f image2pipe` writes), split without decoding: PNG by walking
 * its chunks to IEND, JPEG by walking its markers to EOI (the entropy-coded
 * data after SOS scanned for the next marker).
 *
 * Each image is handed out as soon as its last byte has been read: the
 * reader asks its source only for bytes it needs, so on a live pipe a frame
 * is not held back waiting for the next one.
 */
#ifndef TINFER_IMGSTREAM_H
#define TINFER_IMGSTREAM_H

#include "formats/tar.h" /* struct byte_src */

struct imgstream;

/* A splitter over src; NULL when out of memory.  Reads nothing yet. */
struct imgstream *imgstream_open(struct byte_src src);

/*
 * The next image's bytes, malloc'd, in *buf and *len.  Returns 1, 0 at the
 * end of the stream (between images), or -1 with a one-line reason in err:
 * bytes that are not a PNG or JPEG, an image cut short, an image larger
 * than max, a read error.  After -1 the stream is at its end.
 */
int imgstream_next(struct imgstream *s, size_t max, unsigned char **buf, size_t *len, char *err, size_t errlen);

/* Frees the splitter (NULL is fine); does not close its source. */
void imgstream_close(struct imgstream *s);

#endif
