# Every record right: the failures a cron job and a pipeline meet, each met
# the way a user meets it, with the real binary.
. tests/cli/lib.sh

# (torch.jit.script reads the source: a file, not stdin)
cat >"$TMP/make.py" <<'PYEOF'
import json, os, sys
import numpy as np, torch
d = sys.argv[1]

class NanRaw(torch.nn.Module):
    def forward(self, x):
        v = torch.tensor([1.5, float("nan"), float("inf"), -float("inf"), 2.0])
        return v.repeat(x.shape[0], 1)
torch.jit.script(NanRaw()).save(f"{d}/nanraw.pt")

class NanWhenBig(torch.nn.Module):
    # [B, 3] -> [B, 3]: NaN for the rows whose first value is above 50
    def forward(self, x):
        y = x * 1.0
        return torch.where(x[:, :1] > 50, torch.full_like(y, float("nan")), y)
torch.jit.script(NanWhenBig()).save(f"{d}/nanbig.pt")

class Boxes(torch.nn.Module):
    # boxes decoder output [B, 1, 6]; NaN coordinates for the rows whose first value is above 50
    def forward(self, x):
        b = torch.tensor([[1.0, 2.0, 10.0, 12.0, 0.9, 0.0]]).repeat(x.shape[0], 1, 1)
        return torch.where(x[:, :1, None] > 50, torch.full_like(b, float("nan")), b)
torch.jit.script(Boxes()).save(f"{d}/boxes.pt")

class Picky(torch.nn.Module):
    # fails for any batch holding a row whose first value is above 100
    def forward(self, x):
        assert bool((x[:, 0] <= 100).all()), "value out of range"
        return x * 2.0
torch.jit.script(Picky()).save(f"{d}/picky.pt")

json.dump({"models": {
    "nanraw": {"file": f"{d}/nanraw.pt", "task": "raw"},
    "nancls": {"file": f"{d}/nanbig.pt", "task": "classify", "defaults": {"batch_size": 4}},
    "nanemb": {"file": f"{d}/nanbig.pt", "task": "embed", "defaults": {"batch_size": 4}},
    "nandet": {"file": f"{d}/boxes.pt", "task": "detect", "decoder": {"type": "boxes"}, "defaults": {"batch_size": 4}},
    "picky": {"file": f"{d}/picky.pt", "task": "raw", "defaults": {"batch_size": 4}},
    "typo": {"file": f"{d}/picky.pt", "task": "raw", "lables": ["a"]},
    "dance": {"file": f"{d}/picky.pt", "task": "dance"},
}}, open(f"{d}/m.json", "w"))
for i, v in enumerate([1, 2, 60, 3, 4, 5, 200, 6, 7]):
    np.save(f"{d}/t{i}.npy", np.array([v, 1, 1], dtype=np.float32))
for i, v in enumerate([150, 160, 170, 8]):
    np.save(f"{d}/bad{i}.npy", np.array([v, 1, 1], dtype=np.float32))
PYEOF
"$PY" "$TMP/make.py" "$TMP" || fail make-models "could not make the test models"
M="--models $TMP/m.json"
T9="$TMP/t0.npy $TMP/t1.npy $TMP/t2.npy $TMP/t3.npy $TMP/t4.npy $TMP/t5.npy $TMP/t6.npy $TMP/t7.npy $TMP/t8.npy"

# NaN and infinities: null in raw outputs, every position kept
expect nan/raw-exit 0 "$T" run -m nanraw $M "$TMP/t0.npy"
records nan/raw-null-kept "$TMP/out" 'R[0]["outputs"][0]["data"] == [1.5, None, None, None, 2.0]'
# ... and an error record, its input named, for the tasks that read numbers
for task in cls emb det; do
	expect nan/$task-exit 1 "$T" run -m nan$task $M $T9
	records nan/$task-error-record "$TMP/out" \
		'len(R) == 9 and [r["ok"] for r in R] == [True, True, False, True, True, True, False, True, True] and "NaN" in R[2]["error"] and R[2]["input"].endswith("t2.npy")'
done

# one bad input never fails the good ones batched with it
expect halves/exit 1 "$T" run -m picky $M -b 4 $T9
records halves/only-the-bad-one "$TMP/out" \
	'[r["ok"] for r in R] == [True] * 6 + [False] + [True] * 2 and "value out of range" in R[6]["error"] and R[6]["input"].endswith("t6.npy")'
# every input of the first batch failing alone, for the same reason: the model's fault
expect halves/model-error 3 "$T" run -m picky $M -b 3 --report "$TMP/rep.json" "$TMP/bad0.npy" "$TMP/bad1.npy" "$TMP/bad2.npy" "$TMP/bad3.npy"
records halves/first-batch-records "$TMP/out" 'len(R) == 3 and not any(r["ok"] for r in R)'
records halves/report-says "$TMP/rep.json" \
	'"fails on every input of the first batch" in R[0]["error"] and R[0]["records"] == 3 and R[0]["not_run"] == 1'

# a NUL-separated list without -0 is refused, not cut at the first NUL
printf '%s\0' "$DIGITS/d0_7.png" "$DIGITS/d1_2.png" >"$TMP/nul.list"
expect nul/refused 2 "$T" run -m digits -T "$TMP/nul.list"
grep_in nul/message "$TMP/err" 'NUL bytes: paths separated by NUL need -0'
empty nul/no-records "$TMP/out"
expect nul/with-0 0 "$T" run -m digits -0 -T "$TMP/nul.list"
records nul/with-0-records "$TMP/out" 'len(R) == 2'

# a name that is not UTF-8: U+FFFD in "input", its bytes in "input_bytes", matched by --resume
mkdir "$TMP/u8"
cp "$DIGITS/d0_7.png" "$TMP/u8/$(printf 'caf\351.png')"
cp "$DIGITS/d1_2.png" "$TMP/u8/plain.png"
expect utf8/exit 0 "$T" run -m digits -o "$TMP/u8.jsonl" "$TMP/u8"
records utf8/replacement-and-bytes "$TMP/u8.jsonl" \
	'len(R) == 2 and R[0]["input"].endswith("caf\ufffd.png") and __import__("base64").b64decode(R[0]["input_bytes"]).endswith(b"caf\xe9.png") and "input_bytes" not in R[1]'
expect utf8/resume 0 "$T" run -m digits --resume -o "$TMP/u8.jsonl" --report "$TMP/u8rep.json" "$TMP/u8"
records utf8/resume-no-duplicates "$TMP/u8.jsonl" 'len(R) == 2'
records utf8/resume-skipped "$TMP/u8rep.json" 'R[0]["skipped"] == 2 and R[0]["ok"] == 0'
# ./x and x are one input
(cd "$DIGITS" && "$T" run -m digits -o "$TMP/dot.jsonl" ./d0_7.png d1_2.png >/dev/null 2>&1)
(cd "$DIGITS" && "$T" run -m digits --resume -o "$TMP/dot.jsonl" --report "$TMP/dot.json" d0_7.png .//d1_2.png >/dev/null 2>&1)
records resume/dot-slash "$TMP/dot.json" 'R[0]["skipped"] == 2'
records resume/dot-slash-records "$TMP/dot.jsonl" 'len(R) == 2'

# write errors: the run stops at the first, exit 5, and the report is true
expect write/dev-full 5 "$T" run -m digits -q -o /dev/full --report "$TMP/full.json" "$DIGITS"
records write/dev-full-report "$TMP/full.json" \
	'R[0]["records"] == 0 and R[0]["ok"] == 0 and "No space left" in R[0]["error"] and R[0]["not_run"] == 12'
"$T" run -m digits -q --report "$TMP/closed.json" "$DIGITS" >&- 2>"$TMP/err"
st=$?
[ $st -eq 5 ] && pass write/closed-stdout || fail write/closed-stdout "exit $st"
records write/closed-stdout-report "$TMP/closed.json" 'R[0]["records"] == 0 and R[0]["error"]'
# every command's stdout: a failed write is a failed run (exit 5), never 0 or 1
for c in --help --version models "info -m digits" "completions bash"; do
	sh -c '"$0" $1 >/dev/full 2>/dev/null; echo $? >"$2"' "$T" "$c" "$TMP/st"
	[ "$(cat "$TMP/st")" = 5 ] && pass "write/full-$c" || fail "write/full-$c" "exit $(cat "$TMP/st")"
done
# the reader goes away: the report says so, exit 141, no message
# (500 inputs, so that the run cannot end before head does; records written
# before head exits reach the pipe's buffer: at least 2, never all)
for i in $(seq 500); do echo "$DIGITS/d0_7.png"; done >"$TMP/pipe.list"
sh -c '"$0" run -m digits -b 1 --report "$1" -T "$2" 2>"$3"; echo $? >"$4"' "$T" "$TMP/pipe.json" "$TMP/pipe.list" "$TMP/pipe.err" "$TMP/pipe.st" | head -n 2 >/dev/null
[ "$(cat "$TMP/pipe.st")" = 141 ] && pass sigpipe/exit-141 || fail sigpipe/exit-141 "exit $(cat "$TMP/pipe.st")"
records sigpipe/report "$TMP/pipe.json" 'R[0]["interrupted"] == "SIGPIPE" and 2 <= R[0]["records"] < 500 and R[0]["not_run"] > 0 and R[0]["error"] is None'
empty sigpipe/quiet "$TMP/pipe.err"
# every report says how the run ended
expect report/fields 0 "$T" run -m digits --report "$TMP/ok.json" "$DIGITS/d0_7.png"
records report/fields-present "$TMP/ok.json" \
	'all(k in R[0] for k in ("error", "interrupted", "records", "not_run")) and R[0]["records"] == 1 and R[0]["not_run"] == 0 and all(k in R[0]["time_ms"] for k in ("decode", "forward", "post", "wait"))'

# destinations are checked before anything runs (exit 2, libtorch never loaded)
for opt in --report --memory-trace; do
	expect "dest$opt" 2 "$T" run -m digits $opt /nonexistent/x "$DIGITS/d0_7.png"
	grep_in "dest$opt/message" "$TMP/err" "^tinfer: $opt '/nonexistent/x'"
	empty "dest$opt/no-records" "$TMP/out"
done
expect dest--plot 2 "$T" run -m digits --memory-trace "$TMP/m.csv" --plot /nonexistent/x.svg "$DIGITS/d0_7.png"
: >"$TMP/file"
expect dest--save-dir 2 "$T" run -m nanraw $M --save-dir "$TMP/file" "$TMP/t0.npy"
expect dest--draw 2 "$T" run -m faces --draw /nonexistent/dir/x "$DIGITS/d0_7.png"
if command -v strace >/dev/null 2>&1; then
	strace -f -e trace=openat -o "$TMP/trace" "$T" run -m digits --report /nonexistent/x "$DIGITS/d0_7.png" >/dev/null 2>&1
	if grep -q 'libtorch' "$TMP/trace"; then fail dest/no-libtorch "libtorch mapped"; else pass dest/no-libtorch; fi
fi

# numbers are never truncated
expect numbers/max-det 2 "$T" run -m faces --max-det 4294967296 "$DIGITS/d0_7.png"
grep_in numbers/max-det-message "$TMP/err" "max-det: '4294967296' is not a whole number from 1 to 1000000"
expect numbers/threads 2 "$T" run -m digits -j 99999999999 "$DIGITS/d0_7.png"
expect numbers/batch 2 "$T" run -m digits -b 0 "$DIGITS/d0_7.png"

# options that do not apply to the model's task, manifest keys, task names
expect options/conf-on-classifier 2 "$T" run -m digits --conf 0.3 "$DIGITS/d0_7.png"
grep_in options/conf-message "$TMP/err" "^tinfer: --conf does not apply to model 'digits': its task is classify$"
expect options/top-k-on-detector 2 "$T" run -m faces --top-k 3 "$DIGITS/d0_7.png"
expect options/points-on-classifier 2 "$T" bench -m digits --points 100 --iters 1
expect options/save-dir-on-classifier 2 "$T" run -m digits --save-dir "$TMP/sd" "$DIGITS/d0_7.png"
expect manifest/unknown-key 3 "$T" run -m typo $M "$TMP/t0.npy"
grep_in manifest/unknown-key-message "$TMP/err" "unknown manifest key 'lables' \\(valid: file, task, description, input, labels, defaults\\)"
expect manifest/unknown-task 3 "$T" run -m dance $M "$TMP/t0.npy"
grep_in manifest/unknown-task-message "$TMP/err" "unknown task 'dance' \\(valid: classify, detect, segment, embed, raw\\)"
expect manifest/info-too 3 "$T" info -m typo $M
expect env/bench-device 2 env TINFER_DEVICE=tpu "$T" bench -m digits --iters 1
grep_in env/bench-device-message "$TMP/err" "TINFER_DEVICE"
