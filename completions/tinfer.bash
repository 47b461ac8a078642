# bash completion for tinfer(1).  Keep in step with src/opts.c:
# tests/cli/test_docs.sh checks that every option of 'tinfer --help' is here.

# Model names from 'tinfer models --json' (with the --models FILE already on
# the line, if any); nothing when that fails.
_tinfer_models()
{
	local i manifest=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--models)
			if [ "${COMP_WORDS[i + 1]}" = "=" ]; then
				manifest=(--models "${COMP_WORDS[i + 2]}")
			else
				manifest=(--models "${COMP_WORDS[i + 1]}")
			fi ;;
		--models=*) manifest=("${COMP_WORDS[i]}") ;;
		esac
	done
	"${COMP_WORDS[0]}" models --json "${manifest[@]}" 2>/dev/null |
		grep -o '"name": *"[^"]*"' | sed 's/^"name": *"//; s/"$//'
}

_tinfer()
{
	local cur prev cmd opts
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]}
	[ "$COMP_CWORD" -gt 1 ] && cmd=${COMP_WORDS[1]}

	# --name=value: complete the value (bash splits the word at '=')
	if [ "$cur" = "=" ]; then
		cur=
	elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -gt 1 ]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]}
	elif [[ $cur == --*=* ]]; then
		prev=${cur%%=*}
		cur=${cur#*=}
	fi

	case $prev in
	-m | --model)
		COMPREPLY=($(compgen -W "$(_tinfer_models)" -- "$cur"))
		compopt -o filenames 2>/dev/null
		COMPREPLY+=($(compgen -f -- "$cur"))
		return ;;
	--task)
		COMPREPLY=($(compgen -W "classify detect segment embed raw" -- "$cur"))
		return ;;
	-d | --device)
		COMPREPLY=($(compgen -W "auto cpu cuda cuda:0 cuda:1" -- "$cur"))
		return ;;
	--dtype)
		COMPREPLY=($(compgen -W "fp32 fp16 bf16" -- "$cur"))
		return ;;
	--models | -o | --output | --report | -T | --files-from)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--save-dir)
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -d -- "$cur"))
		return ;;
	-b | --batch-size | -j | --threads | --top-k | --max-pixels)
		return ;;
	esac

	case $cmd in
	run)
		opts="-m --model --models --task -d --device --dtype --half --autocast
			-b --batch-size -j --threads -o --output --report -T --files-from
			-r --recursive -0 --null -q --quiet --top-k --max-pixels --fast-decode
			--save-dir -h --help -V --version" ;;
	info)
		opts="-m --model --models -q --quiet --json -h --help -V --version" ;;
	models)
		opts="--models -q --quiet --json -h --help -V --version" ;;
	*)
		if [ "$COMP_CWORD" -eq 1 ]; then
			COMPREPLY=($(compgen -W "run info models -h --help -V --version" -- "$cur"))
		fi
		return ;;
	esac

	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$opts" -- "$cur"))
	elif [ "$cmd" = run ]; then
		compopt -o filenames 2>/dev/null
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -F _tinfer tinfer
