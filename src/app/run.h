/*
 * run.h — `tinfer run`: the batch loop.  Inputs are read and decoded one
 * batch at a time, the model is loaded when the first batch has something to
 * run, and every input gets exactly one record, in input order, written as
 * soon as its batch is done.
 */
#ifndef TINFER_RUN_H
#define TINFER_RUN_H

#include "cli/opts.h"

/* Runs the command; returns the process exit status (enum exit_code). */
int run_main(const struct opts *o, double t_start);

#endif
