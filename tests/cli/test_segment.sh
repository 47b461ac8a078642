# segment on the real binary: inputs and their errors, directories of
# clouds, and out-of-memory in the decoder halving the prompt batch.
. tests/cli/lib.sh

C="$SAMPLES/inputs/clouds"
# hostile clouds: one error record each, none allocates what its header claims
printf 'ply\nformat binary_little_endian 1.0\nelement vertex 1099511627776\nproperty float x\nproperty float y\nproperty float z\nend_header\n0123456789' >"$TMP/bomb.ply"
printf 'ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 3\nnan 1 1\n' >"$TMP/nan.ply"
printf '1 2 3\n4 5\n' >"$TMP/ragged.xyz"
printf 'hello' >"$TMP/notacloud.ply"
expect hostile 1 "$T" run -m parts --report "$TMP/rep.json" "$TMP/bomb.ply" "$TMP/nan.ply" "$TMP/ragged.xyz" \
	"$TMP/notacloud.ply" "$TMP/missing.ply"
records hostile/records "$TMP/out" 'len(R) == 5 and not any(r["ok"] for r in R)'
records hostile/reasons "$TMP/out" \
	'"claims 1099511627776 vertices" in R[0]["error"] and "non-finite" in R[1]["error"] and "line 2" in R[2]["error"]'
records hostile/no-allocation "$TMP/rep.json" 'R[0]["ram_bytes"]["peak"] < 32 * 2**20 and R[0]["libtorch"] is None'

# a folder of clouds: .ply, .xyz, .txt and .npy, sorted
mkdir "$TMP/clouds"
cp "$C/scene.xyz" "$TMP/clouds/b.xyz"
cp "$C/scene.xyz" "$TMP/clouds/a.txt"
cp "$SAMPLES/models/parts.pt" "$TMP/clouds/not-a-cloud.pt"
expect folder 0 "$T" run -m parts --prompts 10 "$TMP/clouds"
records folder/two-clouds "$TMP/out" \
	'[r["input"].rsplit("/", 1)[1] for r in R] == ["a.txt", "b.xyz"] and R[0]["labels"] == R[1]["labels"]'
records folder/fields "$TMP/out" \
	'R[0]["points"] == 1500 and R[0]["sampled"] == 1500 and R[0]["prompts"] == 10 and len(R[0]["labels"]) == 1500'

expect bad-points 2 "$T" run -m parts --points 0 "$C/scene.xyz"
expect bad-min-score 2 "$T" run -m parts --min-score 2 "$C/scene.xyz"

# out of memory in the decoder: the prompt batch halves and the cloud still
# gets its labels; when even prompt batch 1 (or the encoder) does not fit, the
# input fails with exit 4
"$PY" -c "
import numpy as np
np.save('$TMP/big.npy', np.random.default_rng(0).random((100000, 3)).astype(np.float32))"
# prompt batch 1 needs about 26 MiB of decoder activations at 100000
# points, prompt batch 8 about 200 MiB: a limit between them halves, one
# below the first fails the input (exit 4)
# (-d cpu: ulimit -v limits CPU allocations; the CUDA driver does not start under it)
lim=$(min_vm "$T" run -d cpu -m parts --points 100000 --prompts 8 --prompt-batch 1 "$TMP/big.npy")
(ulimit -v $((lim + 65536)); "$T" run -d cpu -m parts --points 100000 --prompts 8 --prompt-batch 8 --report "$TMP/oom.json" \
	"$TMP/big.npy" >"$TMP/oom.jsonl" 2>"$TMP/oom.err")
st=$?
[ $st -eq 0 ] && pass oom/recovered || fail oom/recovered "exit $st: $(tail -n 2 "$TMP/oom.err")"
records oom/retried "$TMP/oom.json" 'R[0]["oom_retries"] >= 1 and R[0]["ok"] == 1'
grep_in oom/warned "$TMP/oom.err" 'prompt batch now'
(ulimit -v $((lim - 16384)); "$T" run -d cpu -m parts --points 100000 --prompts 8 --prompt-batch 8 "$TMP/big.npy" \
	>"$TMP/oom1.jsonl" 2>"$TMP/oom1.err")
st=$?
[ $st -eq 4 ] && pass oom/exit-4-at-prompt-batch-1 || fail oom/exit-4-at-prompt-batch-1 "exit $st: $(tail -n 2 "$TMP/oom1.err")"
records oom/error-record "$TMP/oom1.jsonl" 'len(R) == 1 and not R[0]["ok"] and "memory" in R[0]["error"]'
