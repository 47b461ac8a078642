/*
 * msg.h — everything tinfer says to a person goes through here, to stderr,
 * one line each with the fixed "tinfer: " prefix (curl's tool_msgs.c).
 */
#ifndef TINFER_MSG_H
#define TINFER_MSG_H

#include <stddef.h>

/* Exit statuses (SPEC §7), documented in tinfer(1). */
enum exit_code {
	EXIT_OK = 0,          /* every input succeeded */
	EXIT_SOME_FAILED = 1, /* the run finished and some inputs failed */
	EXIT_USAGE = 2,       /* bad option, bad value, conflicting options */
	EXIT_MODEL = 3,       /* unknown model, unreadable, not TorchScript, wrong output */
	EXIT_OOM = 4,         /* out of memory at batch size 1, or --max-vram below the weights */
	EXIT_WRITE = 5,       /* results, report or saved files could not be written */
	EXIT_SIGINT = 130,
	EXIT_SIGPIPE = 141,   /* the reader of the results went away (| head) */
	EXIT_SIGTERM = 143
};

/* When set, msg_warn() and msg_info() print nothing; errors still print. */
void msg_set_quiet(int quiet);

void msg_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void msg_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Formats into buf (always NUL-terminated; nothing when buf is NULL or len
 * 0); returns buf.  Every module's err buffers are filled with it. */
char *msg_fmt(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define ERRLEN 512

#endif
