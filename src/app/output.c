/* output.c — see output.h. */
#include "app/output.h"
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
	return 0;
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
