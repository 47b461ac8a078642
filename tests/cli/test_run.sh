# tinfer run: one record per input in input order, good or bad; where the
# inputs come from; where results and the report go; exit statuses.
. tests/cli/lib.sh

cp "$DIGITS/d0_7.png" "$TMP/1.png"
printf 'junk' >"$TMP/2.png"
cp "$DIGITS/d3_0.jpg" "$TMP/3.jpg"

expect mixed/exit-1 1 "$T" run -m digits -b 2 "$TMP/1.png" "$TMP/2.png" "$TMP/missing.png" "$TMP/3.jpg"
records mixed/one-record-each-in-order "$TMP/out" \
	'[r["input"].rsplit("/",1)[1] for r in R] == ["1.png","2.png","missing.png","3.jpg"]'
records mixed/ok-flags "$TMP/out" '[r["ok"] for r in R] == [True, False, False, True]'
records mixed/reasons "$TMP/out" \
	'R[1]["error"] == "not a PNG, JPEG or .npy file" and "No such file" in R[2]["error"]'
records mixed/fields "$TMP/out" \
	'R[0]["task"] == "classify" and R[0]["width"] == 28 and R[0]["height"] == 28 and R[0]["ms"] > 0 and len(R[0]["top"]) == 5'
records mixed/prediction "$TMP/out" 'R[0]["top"][0]["label"] == "7" and R[3]["top"][0]["label"] == "0"'
records mixed/scores-descending "$TMP/out" \
	'all(t["score"] >= u["score"] for t, u in zip(R[0]["top"], R[0]["top"][1:]))'
grep_in mixed/summary-line "$TMP/err" '^tinfer: 4 inputs: 2 ok, 2 failed'

expect all-ok/exit-0 0 "$T" run -m digits "$DIGITS"
records all-ok/directory-sorted "$TMP/out" \
	'len(R) == 12 and [r["input"] for r in R] == sorted(r["input"] for r in R) and all(r["ok"] for r in R)'
records all-ok/no-stray-files "$TMP/out" 'not any(r["input"].endswith(".txt") for r in R)'

expect top-k 0 "$T" run -m digits --top-k 2 "$TMP/1.png"
records top-k/two "$TMP/out" 'len(R[0]["top"]) == 2'
expect top-k-capped 0 "$T" run -m digits --top-k 50 "$TMP/1.png"
records top-k/capped-at-classes "$TMP/out" 'len(R[0]["top"]) == 10'

# the same results whatever the batch size
"$T" run -m digits -b 1 -q "$DIGITS" >"$TMP/b1"
"$T" run -m digits -b 5 -q "$DIGITS" >"$TMP/b5"
"$PY" - "$TMP/b1" "$TMP/b5" <<'PYEOF'
import json, sys
a, b = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
same = len(a) == len(b) == 12 and all(
    [t["index"] for t in x["top"]] == [t["index"] for t in y["top"]] and
    max(abs(t["score"] - u["score"]) for t, u in zip(x["top"], y["top"])) < 1e-5 for x, y in zip(a, b))
print("PASS batch-size-invariant" if same else "FAIL batch-size-invariant: results differ")
PYEOF

# -o FILE: nothing on stdout
expect output-file 0 "$T" run -m digits -o "$TMP/res.jsonl" "$TMP/1.png"
empty output-file/stdout-empty "$TMP/out"
records output-file/record "$TMP/res.jsonl" 'len(R) == 1 and R[0]["ok"]'
expect output-unwritable 2 "$T" run -m digits -o "$TMP/no/such/dir/x.jsonl" "$TMP/1.png"
grep_in output-unwritable/message "$TMP/err" 'cannot open'

# --report FILE and --report - (stderr); -q silences the human line
expect report-file 1 "$T" run -m digits --report "$TMP/rep.json" "$TMP/1.png" "$TMP/2.png"
records report/fields "$TMP/rep.json" '
set(R[0]) >= {"tool","version","libtorch","model","file","task","device","dtype","dtype_requested",
 "fallback","autocast","batch_size","threads","inputs","ok","failed","skipped","oom_retries",
 "time_ms","items_per_s","ram_bytes","vram_bytes"}'
records report/counts "$TMP/rep.json" \
	'R[0]["inputs"] == 2 and R[0]["ok"] == 1 and R[0]["failed"] == 1 and R[0]["model"] == "digits"'
records report/memory "$TMP/rep.json" \
	'0 < R[0]["ram_bytes"]["start"] <= R[0]["ram_bytes"]["after_load"] <= R[0]["ram_bytes"]["peak"]'
# VRAM figures: null on the CPU, measured on CUDA (whichever device auto found)
records report/vram-iff-cuda "$TMP/rep.json" \
	'all(v is None for v in R[0]["vram_bytes"].values()) if R[0]["device"] == "cpu" else (R[0]["device"].startswith("cuda:") and R[0]["vram_bytes"]["peak_allocated"] > 0)'
records report/times "$TMP/rep.json" \
	'0 <= R[0]["time_ms"]["startup"] and 0 < R[0]["time_ms"]["load"] <= R[0]["time_ms"]["total"] and 0 < R[0]["time_ms"]["forward"] < R[0]["time_ms"]["total"]'
records report/libtorch "$TMP/rep.json" 'R[0]["libtorch"].startswith("1.") or R[0]["libtorch"].startswith("2.")'
empty report-file/no-human-line "$TMP/err"
"$T" run -m digits --report - "$TMP/1.png" 2>"$TMP/rep2" >/dev/null
records report-stderr "$TMP/rep2" 'R[-1]["tool"] == "tinfer" and R[-1]["ok"] == 1'
expect quiet 0 "$T" run -q -m digits "$TMP/1.png"
empty quiet/stderr-empty "$TMP/err"

# paths on stdin, -T FILE, -0 with a newline in a name
printf '%s\n%s\n' "$TMP/1.png" "$TMP/3.jpg" | "$T" run -m digits >"$TMP/out" 2>/dev/null
records stdin-paths "$TMP/out" 'len(R) == 2 and all(r["ok"] for r in R)'
printf '%s\n\n%s\n' "$TMP/3.jpg" "$TMP/1.png" >"$TMP/list"
expect files-from 0 "$T" run -m digits -T "$TMP/list"
records files-from/order "$TMP/out" 'len(R) == 2 and R[0]["input"].endswith("3.jpg")'
expect files-from-missing 2 "$T" run -m digits -T "$TMP/nolist"
nl="$TMP/new
line.png"
cp "$TMP/1.png" "$nl"
printf '%s\0%s\0' "$nl" "$TMP/3.jpg" >"$TMP/list0"
expect null-separated 0 "$T" run -m digits -0 -T "$TMP/list0"
records null-separated/newline-kept "$TMP/out" 'len(R) == 2 and R[0]["input"].endswith("new\nline.png") and R[0]["ok"]'

# - reads one input's bytes from stdin, format from magic bytes
"$T" run -m digits - <"$DIGITS/d3_0.jpg" >"$TMP/out" 2>/dev/null
records stdin-bytes "$TMP/out" 'len(R) == 1 and R[0]["input"] == "-" and R[0]["top"][0]["label"] == "0"'

# directories: not recursive unless -r; symlink loops become error records
mkdir -p "$TMP/tree/sub"
cp "$TMP/1.png" "$TMP/tree/a.png"
cp "$TMP/3.jpg" "$TMP/tree/sub/b.jpg"
echo notes >"$TMP/tree/notes.txt"
mkdir "$TMP/empty"
expect empty-dir 1 "$T" run -m digits "$TMP/empty"
records empty-dir/error-record "$TMP/out" 'len(R) == 1 and "no input files" in R[0]["error"]'
expect dir-flat 0 "$T" run -m digits "$TMP/tree"
records dir-flat/one "$TMP/out" 'len(R) == 1 and R[0]["input"].endswith("tree/a.png")'
expect dir-recursive 0 "$T" run -m digits -r "$TMP/tree"
records dir-recursive/two "$TMP/out" 'len(R) == 2 and R[1]["input"].endswith("sub/b.jpg")'
ln -s .. "$TMP/tree/sub/loop"
expect dir-loop 1 "$T" run -m digits -r "$TMP/tree"
records dir-loop/error-record "$TMP/out" \
	'len(R) == 3 and any(not r["ok"] and "loop" in r["error"] for r in R)'

# a directory or a FIFO named as an input is an error record, not a hang
mkfifo "$TMP/fifo.png"
expect not-regular 1 "$T" run -m digits "$TMP/fifo.png" "$TMP/tree/sub/../sub" "$TMP/1.png"
records not-regular/records "$TMP/out" \
	'[r["ok"] for r in R] == [False, True, True] or [r["ok"] for r in R][0] is False'
