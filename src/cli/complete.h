/*
 * complete.h — shell completion scripts generated from the option table
 * (`tinfer completions bash|zsh|fish`).
 */
#ifndef TINFER_COMPLETE_H
#define TINFER_COMPLETE_H

/* Prints the script for shell ("bash", "zsh" or "fish"); the exit status. */
int complete_main(const char *shell);

#endif
