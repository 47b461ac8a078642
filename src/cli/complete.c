/*
 * complete.c — `tinfer completions bash|zsh|fish`: shell completion scripts
 * generated from the option table, so that they can never miss an option.
 * completions/ holds their output (`make completions`), and the docs test
 * fails when it is out of date.
 */
#include "cli/complete.h"
#include "sys/msg.h"
#include "cli/opts.h"

#include <stdio.h>
#include <string.h>

/* Model names from `tinfer models --json`, with any --models FILE already typed. */
static const char bash_models[] =
	"_tinfer_models()\n"
	"{\n"
	"\tlocal i manifest=()\n"
	"\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	"\t\tcase ${COMP_WORDS[i]} in\n"
	"\t\t--models) manifest=(--models \"${COMP_WORDS[i + 1]}\") ;;\n"
	"\t\t--models=*) manifest=(\"${COMP_WORDS[i]}\") ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\t\"${COMP_WORDS[0]}\" models --json \"${manifest[@]}\" 2>/dev/null |\n"
	"\t\tgrep -o '\"name\": *\"[^\"]*\"' | sed 's/^\"name\": *\"//; s/\"$//'\n"
	"}\n\n";

static const char zsh_models[] =
	"_tinfer_models() {\n"
	"\tlocal -a names manifest\n"
	"\tlocal i\n"
	"\tfor (( i = 2; i < CURRENT; i++ )); do\n"
	"\t\tcase $words[i] in\n"
	"\t\t--models) manifest=(--models ${(Q)words[i+1]}) ;;\n"
	"\t\t--models=*) manifest=(${(Q)words[i]}) ;;\n"
	"\t\tesac\n"
	"\tdone\n"
	"\tnames=(${(f)\"$(_call_program models tinfer models --json $manifest 2>/dev/null |\n"
	"\t\tgrep -o '\"name\": *\"[^\"]*\"' | sed 's/^\"name\": *\"//; s/\"$//')\"})\n"
	"\t_alternative 'models:model name:compadd -a names' \\\n"
	"\t\t'files:TorchScript file:_files -g \"*.(pt|torchscript)(-.)\"'\n"
	"}\n\n";

static const char fish_models[] =
	"function __tinfer_models\n"
	"    set -l tokens (commandline -opc)\n"
	"    set -l manifest\n"
	"    for i in (seq (count $tokens))\n"
	"        switch $tokens[$i]\n"
	"            case --models\n"
	"                set -l j (math $i + 1)\n"
	"                test $j -le (count $tokens); and set manifest --models $tokens[$j]\n"
	"            case '--models=*'\n"
	"                set manifest $tokens[$i]\n"
	"        end\n"
	"    end\n"
	"    $tokens[1] models --json $manifest 2>/dev/null | grep -o '\"name\": *\"[^\"]*\"' | sed 's/^\"name\": *\"//; s/\"$//'\n"
	"end\n\n";

/* Writes s with every character of `special` preceded by a backslash. */
static void put_escaped(const char *s, const char *special)
{
	for (; *s; s++) {
		if (strchr(special, *s))
			putchar('\\');
		putchar(*s);
	}
}

static void bash(const struct option_def *t, int n, const struct command_def *c, int nc)
{
	printf("%s", bash_models);
	printf("_tinfer()\n{\n\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]} cmd=\n"
	       "\tCOMPREPLY=()\n\t[ \"$COMP_CWORD\" -gt 1 ] && cmd=${COMP_WORDS[1]}\n"
	       "\t# --name=value: bash splits the word at '='\n"
	       "\tif [ \"$cur\" = \"=\" ]; then\n\t\tcur=\n"
	       "\telif [ \"$prev\" = \"=\" ] && [ \"$COMP_CWORD\" -gt 2 ]; then\n"
	       "\t\tprev=${COMP_WORDS[COMP_CWORD - 2]}\n\tfi\n\tcase $prev in\n");
	for (int i = 0; i < n; i++) {
		const struct option_def *d = &t[i];
		if (!d->arg)
			continue;
		printf("\t");
		if (d->shortname)
			printf("-%c | ", d->shortname);
		printf("--%s)\n", d->longname);
		if (d->choices)
			printf("\t\tCOMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", d->choices);
		else if (d->complete == COMPLETE_MODEL)
			printf("\t\tcompopt -o filenames 2>/dev/null\n"
			       "\t\tCOMPREPLY=($(compgen -W \"$(_tinfer_models)\" -- \"$cur\") $(compgen -f -- \"$cur\")) ;;\n");
		else if (d->complete == COMPLETE_FILE)
			printf("\t\tcompopt -o filenames 2>/dev/null\n\t\tCOMPREPLY=($(compgen -f -- \"$cur\")) ;;\n");
		else if (d->complete == COMPLETE_DIR)
			printf("\t\tcompopt -o filenames 2>/dev/null\n\t\tCOMPREPLY=($(compgen -d -- \"$cur\")) ;;\n");
		else
			printf("\t\t;;\n");
	}
	printf("\t*)\n\t\tcase $cmd in\n");
	for (int k = 0; k < nc; k++) {
		printf("\t\t%s)\n\t\t\tif [[ $cur == -* ]]; then\n\t\t\t\tCOMPREPLY=($(compgen -W \"", c[k].name);
		for (int i = 0; i < n; i++)
			if (t[i].commands & (1u << c[k].cmd)) {
				if (t[i].shortname)
					printf("-%c ", t[i].shortname);
				printf("--%s ", t[i].longname);
			}
		printf("\" -- \"$cur\"))\n\t\t\telse\n");
		if (c[k].cmd == CMD_RUN)
			printf("\t\t\t\tcompopt -o filenames 2>/dev/null\n\t\t\t\tCOMPREPLY=($(compgen -f -- \"$cur\"))\n");
		else if (c[k].cmd == CMD_COMPLETIONS)
			printf("\t\t\t\tCOMPREPLY=($(compgen -W \"bash zsh fish\" -- \"$cur\"))\n");
		else
			printf("\t\t\t\t:\n");
		printf("\t\t\tfi ;;\n");
	}
	printf("\t\t*)\n\t\t\tCOMPREPLY=($(compgen -W \"");
	for (int k = 0; k < nc; k++)
		printf("%s ", c[k].name);
	printf("--help --version -h -V\" -- \"$cur\")) ;;\n\t\tesac ;;\n\tesac\n}\n"
	       "complete -F _tinfer tinfer\n");
}

/* Writes s for use inside a single-quoted zsh _arguments description. */
static void put_zsh(const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			fputs("'\\''", stdout);
		else {
			if (*s == '[' || *s == ']')
				putchar('\\');
			putchar(*s);
		}
	}
}

/* One zsh _arguments spec for option d. */
static void zsh_spec(const struct option_def *d)
{
	printf("\t\t\t");
	if (d->shortname)
		printf("'(-%c --%s)'{-%c%s,--%s%s}'[", d->shortname, d->longname, d->shortname,
		       d->arg ? "+" : "", d->longname, d->arg ? "=" : "");
	else
		printf("'--%s%s[", d->longname, d->arg ? "=" : "");
	put_zsh(d->help);
	printf("]");
	if (d->arg) {
		printf(":%s:", d->arg);
		if (d->choices)
			printf("(%s)", d->choices);
		else if (d->complete == COMPLETE_MODEL)
			printf("_tinfer_models");
		else if (d->complete == COMPLETE_FILE)
			printf("_files");
		else if (d->complete == COMPLETE_DIR)
			printf("_files -/");
	}
	printf("' \\\n");
}

static void zsh(const struct option_def *t, int n, const struct command_def *c, int nc)
{
	printf("%s", zsh_models);
	printf("_tinfer() {\n\tlocal curcontext=$curcontext state line ret=1\n\ttypeset -A opt_args\n"
	       "\t_arguments -C \\\n\t\t'(- *)'{-h,--help}'[show this help and exit]' \\\n"
	       "\t\t'(- *)'{-V,--version}'[show the version and exit]' \\\n\t\t'1:command:((");
	for (int k = 0; k < nc; k++) {
		printf("%s\\:\"", c[k].name);
		put_zsh(c[k].help);
		printf("\" ");
	}
	printf("))' \\\n\t\t'*::arg:->args' && ret=0\n\tcase $state in\n\targs)\n"
	       "\t\tcurcontext=${curcontext%%:*:*}:tinfer-$words[1]:\n\t\tcase $words[1] in\n");
	for (int k = 0; k < nc; k++) {
		printf("\t\t%s)\n\t\t\t_arguments -s -S \\\n", c[k].name);
		for (int i = 0; i < n; i++)
			if ((t[i].commands & (1u << c[k].cmd)) && strcmp(t[i].longname, "help") &&
			    strcmp(t[i].longname, "version"))
				zsh_spec(&t[i]);
		if (c[k].cmd == CMD_RUN)
			printf("\t\t\t'*:input:_files' && ret=0 ;;\n");
		else if (c[k].cmd == CMD_COMPLETIONS)
			printf("\t\t\t'1:shell:(bash zsh fish)' && ret=0 ;;\n");
		else
			printf("\t\t\t&& ret=0 ;;\n");
	}
	printf("\t\tesac ;;\n\tesac\n\treturn ret\n}\n\n_tinfer \"$@\"\n");
}

static void fish(const struct option_def *t, int n, const struct command_def *c, int nc)
{
	printf("%s", fish_models);
	printf("set -l cmds");
	for (int k = 0; k < nc; k++)
		printf(" %s", c[k].name);
	printf("\ncomplete -c tinfer -f\n");
	for (int k = 0; k < nc; k++) {
		printf("complete -c tinfer -n \"not __fish_seen_subcommand_from $cmds\" -a %s -d '", c[k].name);
		put_escaped(c[k].help, "'\\");
		printf("'\n");
	}
	printf("complete -c tinfer -n '__fish_seen_subcommand_from run' -F\n"
	       "complete -c tinfer -n '__fish_seen_subcommand_from completions' -x -a 'bash zsh fish'\n");
	for (int i = 0; i < n; i++) {
		const struct option_def *d = &t[i];
		printf("complete -c tinfer");
		if (strcmp(d->longname, "help") && strcmp(d->longname, "version")) {
			printf(" -n '__fish_seen_subcommand_from");
			for (int k = 0; k < nc; k++)
				if (d->commands & (1u << c[k].cmd))
					printf(" %s", c[k].name);
			printf("'");
		}
		if (d->shortname)
			printf(" -s %c", d->shortname);
		printf(" -l %s", d->longname);
		if (d->choices)
			printf(" -x -a '%s'", d->choices);
		else if (d->complete == COMPLETE_MODEL)
			printf(" -r -F -a '(__tinfer_models)'");
		else if (d->complete == COMPLETE_FILE)
			printf(" -r -F");
		else if (d->complete == COMPLETE_DIR)
			printf(" -x -a '(__fish_complete_directories)'");
		else if (d->arg)
			printf(" -x");
		printf(" -d '");
		put_escaped(d->help, "'\\");
		printf("'\n");
	}
}

int complete_main(const char *shell)
{
	int n, nc;
	const struct option_def *t = opts_table(&n);
	const struct command_def *c = opts_commands(&nc);
	if (!strcmp(shell, "zsh"))
		printf("#compdef tinfer\n");
	printf("# %s completion for tinfer(1), generated by 'tinfer completions %s'\n"
	       "# from the option table in src/cli/opts.c: do not edit.\n", shell, shell);
	if (!strcmp(shell, "bash"))
		bash(t, n, c, nc);
	else if (!strcmp(shell, "zsh"))
		zsh(t, n, c, nc);
	else
		fish(t, n, c, nc);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SOME_FAILED;
}
