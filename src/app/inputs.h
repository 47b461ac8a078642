/*
 * inputs.h — the inputs of a run, in order, read as the run goes: operands
 * (files, directories, tar shards, "-"), --files-from, paths on stdin, an
 * image stream on stdin (--image-stream), or the boxes of detection records
 * (--crop-from, app/crops.h).  Nothing is listed ahead: the first record
 * comes out before a long list has been read to its end, and a million
 * listed paths cost what one does.
 */
#ifndef TINFER_INPUTS_H
#define TINFER_INPUTS_H

#include <stddef.h>

struct crop;

/* One input, as the list yields it. */
struct input {
	size_t pos;                 /* position in the whole list, from 0 (what --shard counts) */
	char *name;                 /* its name: a path, "SHARD.tar/MEMBER", "-#FRAME"; bytes, NUL-free */
	unsigned char *data;        /* its bytes when the list read them (stdin, tar member, frame); NULL: read the file */
	size_t len;
	char *error;                /* why it cannot be run (unreadable directory, broken archive...), else NULL */
	struct crop *crop;          /* --crop-from: the region to cut (app/crops.h); else NULL */
	long det;                   /* --crop-from: the box's index in its source record; else -1 */
};

struct input_opts {
	char **operands;
	int n_operands;
	const char *files_from;     /* NULL, a path, or "-" */
	int recursive;
	int null_sep;
	const char *const *exts;    /* file name endings taken from directories and tar shards (NULL-terminated) */
	int image_stream;           /* stdin is concatenated PNG/JPEG images */
	long every;                 /* --every: keep one image in N of the stream */
	const char *crop_from;      /* --crop-from FILE or "-" */
	double crop_pad;
};

struct inputs;

/*
 * Starts the list.  Returns it, or NULL with a reason in err for a usage
 * problem (an unreadable --files-from or --crop-from, "-" twice, no inputs
 * at all from a terminal).
 */
struct inputs *inputs_open(const struct input_opts *o, char *err, size_t errlen);

/*
 * The next input: 1 with *in filled (free it with input_free); 0 at the
 * end; -1 with a reason in err when the list itself is unusable from here
 * on (a NUL byte in a newline-separated list: it needs -0).
 */
int inputs_next(struct inputs *l, struct input *in, char *err, size_t errlen);

/* 1 while the list waits for bytes from a pipe or terminal that may not
 * come soon: the run then takes a partial batch rather than wait. */
int inputs_streaming(const struct inputs *l);

void input_free(struct input *in);
void inputs_close(struct inputs *l);

/*
 * Reads one input whole: a regular file of at most 2 GiB, or stdin's bytes
 * for "-".  Directories, FIFOs, devices and empty files are refused without
 * blocking.  Returns a malloc'd buffer, or NULL with a one-line reason.
 */
unsigned char *inputs_read(const char *path, size_t *len, char *err, size_t errlen);

#endif
