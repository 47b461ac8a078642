/* measure — run one command, report its wall time and peak RSS.
 *
 *   measure RESULT_FILE [-c] [-i STDIN_FILE] [-o STDOUT_FILE] [-e STDERR_FILE] -- CMD [ARG ...]
 *
 * Writes one line "rc WALL_MS MAXRSS_KIB" to RESULT_FILE once CMD has exited
 * (with -c, "rc WALL_MS MAXRSS_KIB CPU_MS": user + system time, the figure
 * that a busy shared machine does not stretch).
 * The child's stdout and stderr go to /dev/null unless -o / -e name files.
 *
 * Why a C helper rather than Python's subprocess + os.wait4: Linux carries a
 * process's RSS high-water mark across execve(), and Python's subprocess forks
 * (or vforks) from an interpreter that already holds 10+ MiB, which would leak
 * into the child's ru_maxrss and swamp the 16 MiB figure.  This program holds
 * about 1 MiB when it forks.  Wall time is CLOCK_MONOTONIC from just before
 * fork() to just after wait4() returns: process creation, dynamic linking,
 * the run and the exit are all included.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void redirect(const char *path, int fd, int flags)
{
	int f = open(path, flags, 0644);
	if (f < 0) {
		perror(path);
		_exit(127);
	}
	if (f != fd) {
		dup2(f, fd);
		close(f);
	}
}

int main(int argc, char **argv)
{
	const char *in = "/dev/null", *out = "/dev/null", *err = "/dev/null";
	int i, cpu = 0;

	if (argc < 4) {
		fprintf(stderr, "usage: measure RESULT_FILE [-c] [-i IN] [-o OUT] [-e ERR] -- CMD [ARG ...]\n");
		return 2;
	}
	for (i = 2; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "-c")) {
			cpu = 1;
			continue;
		}
		if (i + 1 >= argc)
			return 2;
		if (!strcmp(argv[i], "-i"))
			in = argv[++i];
		else if (!strcmp(argv[i], "-o"))
			out = argv[++i];
		else if (!strcmp(argv[i], "-e"))
			err = argv[++i];
		else
			return 2;
	}
	if (i + 1 >= argc)
		return 2;
	char **cmd = argv + i + 1;

	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		redirect(in, 0, O_RDONLY);
		redirect(out, 1, O_WRONLY | O_CREAT | O_TRUNC);
		redirect(err, 2, O_WRONLY | O_CREAT | O_TRUNC);
		execvp(cmd[0], cmd);
		perror(cmd[0]);
		_exit(127);
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("wait4");
		return 1;
	}
	double t1 = now_ms();
	int rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	if (cpu)
		fprintf(f, "%d %.3f %ld %.3f\n", rc, t1 - t0, ru.ru_maxrss,
		        (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
	else
		fprintf(f, "%d %.3f %ld\n", rc, t1 - t0, ru.ru_maxrss);
	fclose(f);
	return 0;
}
