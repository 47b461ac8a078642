/*
 * main.c — tinfer: batch inference with one TorchScript model.  Parses the
 * command line, hands it to the command, checks stdout, returns the status.
 */
#include "app/bench.h"
#include "cli/complete.h"
#include "app/info.h"
#include "sys/heap.h"
#include "sys/memstat.h"
#include "sys/msg.h"
#include "cli/opts.h"
#include "app/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	double t_start = now_ms();
	struct opts o;
	int status;

	if (opts_parse(argc, argv, &o) < 0) {
		free(o.inputs);
		return EXIT_USAGE;
	}
	msg_set_quiet(o.quiet);
	/* the commands that load libtorch: its tensors on huge pages */
	if (o.cmd == CMD_RUN || o.cmd == CMD_BENCH)
		heap_use_huge_pages(argv);
	switch (o.cmd) {
	case CMD_HELP: opts_help(); status = EXIT_OK; break;
	case CMD_VERSION: status = version_main(); break;
	case CMD_BENCH: status = bench_main(&o, t_start); break;
	case CMD_INFO: status = info_main(&o); break;
	case CMD_MODELS: status = models_main(&o); break;
	case CMD_COMPLETIONS: status = complete_main(o.shell); break;
	default: status = run_main(&o, t_start); break;
	}
	free(o.inputs);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		msg_error("write error on stdout");
		if (status == EXIT_OK || status == EXIT_SOME_FAILED)
			status = EXIT_WRITE;
	}
	/* Everything is written: leave without running libtorch's and its
	 * BLAS's exit handlers, which only tear down what the kernel frees
	 * anyway, take time, and can hang (OpenBLAS joins a worker thread that
	 * never got its buffer under a tight ulimit -v). */
	fflush(stderr);
	_exit(status);
}
