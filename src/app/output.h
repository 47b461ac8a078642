/*
 * output.h — the JSON Lines results stream: stdout or -o FILE.  Each record
 * is serialised whole and handed to the kernel in one write(2), so a killed
 * run leaves at most one torn last line and concurrent readers never see
 * half a record.
 */
#ifndef TINFER_OUTPUT_H
#define TINFER_OUTPUT_H

#include <jansson.h>

struct output {
	int fd;
	const char *name;           /* for messages: the path, or "stdout" */
	int failed;                 /* a write failed: errno saved in err_no (EPIPE: the reader went away) */
	int err_no;
	size_t records;             /* records written whole */
};

/* Opens path (NULL or "-" = stdout), truncating, or appending when append. */
int output_open(struct output *out, const char *path, int append, char *err, size_t errlen);

/* Writes rec and a newline in one write.  0, or -1 (and out->failed set). */
int output_write(struct output *out, const json_t *rec);

/* Closes the stream; -1 with err when it or an earlier write failed. */
int output_close(struct output *out, char *err, size_t errlen);

/*
 * Sets rec's "input" to the input's name (bytes): as it is when it is
 * UTF-8, else with each invalid byte as U+FFFD and the exact bytes in
 * "input_bytes" (base64), so that a record always names its input and
 * --resume can match it.  -1 when out of memory.
 */
int output_set_input(json_t *rec, const char *name);

/* The name a record stands for: "input_bytes" decoded, else "input";
 * malloc'd, NULL when the record names none. */
char *output_record_input(const json_t *rec);

/* json_dumps flags used for every JSON tinfer prints. */
#define OUTPUT_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

#endif
