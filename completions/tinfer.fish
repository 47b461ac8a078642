# fish completion for tinfer(1).  Keep in step with src/opts.c:
# tests/cli/test_docs.sh checks that every option of 'tinfer --help' is here.

# Model names from 'tinfer models --json' (with the --models FILE already on
# the line, if any); nothing when that fails.
function __tinfer_models
    set -l tokens (commandline -opc)
    set -l manifest
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --models
                set -l j (math $i + 1)
                test $j -le (count $tokens); and set manifest --models $tokens[$j]
            case '--models=*'
                set manifest $tokens[$i]
        end
    end
    $tokens[1] models --json $manifest 2>/dev/null | grep -o '"name": *"[^"]*"' | sed 's/^"name": *"//; s/"$//'
end

set -l cmds run info models
complete -c tinfer -f

# commands
complete -c tinfer -n "not __fish_seen_subcommand_from $cmds" -a run -d 'run the model over inputs'
complete -c tinfer -n "not __fish_seen_subcommand_from $cmds" -a info -d "show a model's metadata"
complete -c tinfer -n "not __fish_seen_subcommand_from $cmds" -a models -d "list the manifest's models"

# every command
complete -c tinfer -s h -l help -d 'show the help and exit'
complete -c tinfer -s V -l version -d 'show the version and exit'
complete -c tinfer -n "__fish_seen_subcommand_from $cmds" -s q -l quiet -d 'no messages on stderr except errors'
complete -c tinfer -n "__fish_seen_subcommand_from $cmds" -l models -r -F -d 'manifest to use'

# run and info
complete -c tinfer -n '__fish_seen_subcommand_from run info' -s m -l model -r -F -a '(__tinfer_models)' -d 'manifest name or .pt/.torchscript file'

# info and models
complete -c tinfer -n '__fish_seen_subcommand_from info models' -l json -d 'machine-readable output'

# run
set -l run '__fish_seen_subcommand_from run'
complete -c tinfer -n $run -F
complete -c tinfer -n $run -l task -x -a 'classify detect segment embed raw' -d 'task'
complete -c tinfer -n $run -s d -l device -x -a 'auto cpu cuda cuda:0 cuda:1' -d 'device (default $TINFER_DEVICE, auto)'
complete -c tinfer -n $run -l dtype -x -a 'fp32 fp16 bf16' -d 'precision (default fp32)'
complete -c tinfer -n $run -l half -d 'same as --dtype fp16'
complete -c tinfer -n $run -l autocast -d 'mixed precision (CUDA fp16, CPU bf16)'
complete -c tinfer -n $run -s b -l batch-size -x -d 'inputs per forward pass'
complete -c tinfer -n $run -s j -l threads -x -d 'intra-op threads'
complete -c tinfer -n $run -s o -l output -r -F -d 'write JSON Lines results to FILE'
complete -c tinfer -n $run -l report -r -F -d 'run summary as JSON to FILE (- = stderr)'
complete -c tinfer -n $run -s T -l files-from -r -F -d 'read input paths from FILE (- = stdin)'
complete -c tinfer -n $run -s r -l recursive -d 'descend into directories'
complete -c tinfer -n $run -s 0 -l null -d 'paths in lists are NUL-separated'
complete -c tinfer -n $run -l top-k -x -d 'classify: classes per record (default 5)'
complete -c tinfer -n $run -l max-pixels -x -d 'refuse larger images (default 100000000)'
complete -c tinfer -n $run -l fast-decode -d 'JPEG: decode at reduced scale'
complete -c tinfer -n $run -l save-dir -x -a '(__fish_complete_directories)' -d 'write raw outputs as .npy files there'
