/* output.c — see output.h. */
#include "app/output.h"
#include "sys/text.h"
#include "sys/msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int output_open(struct output *out, const char *path, int append, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!path || !strcmp(path, "-")) {
		out->fd = STDOUT_FILENO;
		out->name = "stdout";
		return 0;
	}
	out->fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
	if (out->fd < 0) {
		msg_fmt(err, errlen, "cannot open '%s' for writing: %s", path, strerror(errno));
		return -1;
	}
	out->name = path;
	return 0;
}

int output_write(struct output *out, const json_t *rec)
{
	char *s;
	size_t len, off = 0;
	if (out->failed)
		return -1;
	if (!(s = json_dumps(rec, OUTPUT_JSON_FLAGS))) {
		out->failed = 1;
		out->err_no = ENOMEM;
		return -1;
	}
	len = strlen(s);
	s[len++] = '\n'; /* replaces the NUL: json_dumps' buffer is len + 1 */
	while (off < len) {
		ssize_t w = write(out->fd, s + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			out->failed = 1;
			out->err_no = w < 0 ? errno : EIO;
			free(s);
			return -1;
		}
		off += (size_t)w;
	}
	free(s);
	out->records++;
	return 0;
}

int output_set_input(json_t *rec, const char *name)
{
	size_t n = strlen(name);
	char *lossy, *b64;
	if (text_is_utf8(name, n))
		return json_object_set_new(rec, "input", json_string(name));
	lossy = text_utf8_lossy(name, n);
	b64 = text_base64((const unsigned char *)name, n);
	if (!lossy || !b64 || json_object_set_new(rec, "input", json_string(lossy)) < 0 ||
	    json_object_set_new(rec, "input_bytes", json_string(b64)) < 0) {
		free(lossy);
		free(b64);
		return -1;
	}
	free(lossy);
	free(b64);
	return 0;
}

char *output_record_input(const json_t *rec)
{
	const char *b64 = json_string_value(json_object_get(rec, "input_bytes"));
	const char *name = json_string_value(json_object_get(rec, "input"));
	size_t len;
	if (b64)
		return (char *)text_unbase64(b64, &len);
	return name ? strdup(name) : NULL;
}

int output_close(struct output *out, char *err, size_t errlen)
{
	int rc = 0;
	if (out->fd != STDOUT_FILENO && out->fd >= 0 && close(out->fd) < 0 && !out->failed) {
		out->failed = 1;
		out->err_no = errno;
	}
	if (out->failed) {
		msg_fmt(err, errlen, "writing results to %s: %s", out->name, strerror(out->err_no));
		rc = -1;
	}
	out->fd = -1;
	return rc;
}
