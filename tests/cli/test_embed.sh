# embed on the real binary, --save-dir: one embeddings.npy [N, D] in record
# order, each ok record citing its row; what a kill -9, --resume, a full disk
# and the wrong model for a resumed file leave behind.
. tests/cli/lib.sh

"$PY" - "$TMP" "$DIGITS" <<'PYEOF'
import json, os, shutil, sys, torch
d, digits = sys.argv[1:3]
torch.manual_seed(0)
class Vec(torch.nn.Module):
    def __init__(self, dim, slow):
        super().__init__()
        self.l = torch.nn.Linear(3 * 8 * 8, dim)
        self.w = torch.nn.Parameter(torch.randn(400, 400) / 20)
        self.slow = slow
    def forward(self, x):
        y = self.l(x.flatten(1))
        if self.slow:  # some work per batch, so that a kill lands mid-run
            z = self.w
            for _ in range(40):
                z = torch.tanh(z @ self.w)
            y = y + 0 * z.sum()
        return y
x = torch.zeros(1, 3, 8, 8)
vec, slow = Vec(256, False), Vec(256, True)
slow.l.load_state_dict(vec.l.state_dict())  # the same vectors, slower
for name, m in (("vec", vec), ("slow", slow), ("vec4", Vec(4, False))):
    torch.jit.trace(m.eval(), x).save(f"{d}/{name}.pt")
inp = {"size": 8, "resize": "stretch", "scale": 1 / 255}
json.dump({"models": {
    "vec": {"file": f"{d}/vec.pt", "task": "embed", "input": inp, "defaults": {"batch_size": 4}},
    "slow": {"file": f"{d}/slow.pt", "task": "embed", "input": inp, "defaults": {"batch_size": 1}},
    "unit": {"file": f"{d}/vec.pt", "task": "embed", "input": inp, "normalize": True},
    "vec4": {"file": f"{d}/vec4.pt", "task": "embed", "input": inp}}}, open(f"{d}/m.json", "w"))
# 120 distinct inputs: the digits under numbered names
src = sorted(os.listdir(digits))
os.makedirs(f"{d}/in")
for i in range(120):
    shutil.copy(os.path.join(digits, src[i % len(src)]), f"{d}/in/{i:03d}.png")
PYEOF
M="--models $TMP/m.json"

# checks NAME RECORDS DIR [REF]: the records' rows against DIR/embeddings.npy
# (and the vectors against REF, a run without --save-dir): ok records cite
# rows 0..k-1 once each, in order, k <= N; error records cite none.
rows() {
	"$PY" - "$@" <<'PYEOF'
import json, sys
import numpy as np
name, recs, d = sys.argv[1:4]
R = [json.loads(l) for l in open(recs)]
a = np.load(f"{d}/embeddings.npy")
rows = [r["row"] for r in R if r["ok"]]
checks = {
    "float32-matrix": a.dtype == np.float32 and a.ndim == 2,
    "rows-in-order-once": rows == list(range(len(rows))),
    "cited-within-file": len(rows) <= a.shape[0],
    "no-inline-vector": all("embedding" not in r and r["dim"] == a.shape[1] for r in R if r["ok"]),
    "errors-cite-nothing": all("row" not in r for r in R if not r["ok"]),
}
if len(sys.argv) > 4:
    ref = {r["input"]: np.array(r["embedding"], np.float32) for r in map(json.loads, open(sys.argv[4])) if r["ok"]}
    # equal when batched alike, else within float32 rounding of another BLAS blocking
    exact = len(sys.argv) > 5
    checks["vectors-equal-inline" + ("-exactly" if exact else "")] = all(
        np.array_equal(a[r["row"]], ref[r["input"]]) if exact else
        np.abs(a[r["row"]] - ref[r["input"]]).max() <= 1e-6 * np.abs(ref[r["input"]]).max() for r in R if r["ok"])
for k, ok in checks.items():
    print(f"PASS {name}/{k}" if ok else f"FAIL {name}/{k}: rows {rows[:20]}, file {a.shape}")
PYEOF
}

ls "$TMP"/in/*.png | head -12 >"$TMP/list12"
"$T" run -m vec $M -q -T "$TMP/list12" >"$TMP/ref12.jsonl"
{ cat "$TMP/list12"; echo "$TMP/missing.png"; } >"$TMP/list13"
expect save-dir 1 "$T" run -m vec $M --save-dir "$TMP/e1" -T "$TMP/list13"
rows save-dir "$TMP/out" "$TMP/e1" "$TMP/ref12.jsonl" exact
records save-dir/counts "$TMP/out" 'len(R) == 13 and sum(r["ok"] for r in R) == 12 and R[12]["ok"] is False'
"$PY" -c "import numpy as np; a = np.load('$TMP/e1/embeddings.npy'); print('PASS save-dir/shape' if a.shape == (12, 256) else f'FAIL save-dir/shape: {a.shape}')"
# a second run without --resume starts the file afresh
expect save-dir/again 0 "$T" run -m vec $M --save-dir "$TMP/e1" "$TMP/in/000.png" "$TMP/in/001.png"
"$PY" -c "import numpy as np; a = np.load('$TMP/e1/embeddings.npy'); print('PASS save-dir/again/fresh' if a.shape == (2, 256) else f'FAIL save-dir/again/fresh: {a.shape}')"

# normalize: the file holds the normalised vectors, as float32
"$T" run -m unit $M -q -T "$TMP/list12" >"$TMP/unit-inline.jsonl"
expect save-dir/normalize 0 "$T" run -m unit $M --save-dir "$TMP/e2" -T "$TMP/list12"
"$PY" - "$TMP" <<'PYEOF'
import json, sys
import numpy as np
d = sys.argv[1]
a = np.load(f"{d}/e2/embeddings.npy")
ref = np.array([json.loads(l)["embedding"] for l in open(f"{d}/unit-inline.jsonl")], np.float32)
rows = [json.loads(l)["row"] for l in open(f"{d}/out")]
ok = np.abs(a[rows] - ref).max() <= 1e-6 and np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-6)
print("PASS save-dir/normalize/unit-rows" if ok else f"FAIL save-dir/normalize/unit-rows: {np.abs(a[rows] - ref).max()}")
PYEOF

# kill -9 in the middle: the file loads, and every record out cites a row
# under its N (rows written after the last record are allowed: nothing
# cites them).  Then --resume cuts those off and continues the numbering.
ls "$TMP"/in/*.png >"$TMP/list120"
"$T" run -m vec $M -q -T "$TMP/list120" >"$TMP/ref120.jsonl"
"$T" run -m slow $M -q --save-dir "$TMP/k" -o "$TMP/k.jsonl" -T "$TMP/list120" &
pid=$!
i=0
while [ "$i" -lt 600 ] && [ "$(cat "$TMP/k.jsonl" 2>/dev/null | wc -l)" -lt 5 ]; do sleep 0.1; i=$((i + 1)); done
# a second run on the same folder meanwhile (a shard given the same --save-dir) is refused, the file untouched
expect kill/second-writer 2 "$T" run -m vec $M --save-dir "$TMP/k" "$TMP/in/000.png"
grep_in kill/second-writer/message "$TMP/err" "^tinfer: --save-dir: '.*k/embeddings.npy' is being written by another process \(give each shard its own --save-dir\)$"
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
"$PY" - "$TMP" <<'PYEOF'
import json, sys
import numpy as np
d = sys.argv[1]
lines = open(f"{d}/k.jsonl").read().split("\n")
R = [json.loads(l) for l in lines[:-1]]  # a torn last line is --resume's to drop
a = np.load(f"{d}/k/embeddings.npy")
print(f"# killed after {len(R)} records, {a.shape[0]} rows")
ok = len(R) < 120
print("PASS kill/mid-run" if ok else "FAIL kill/mid-run: the run ended before the kill")
ok = a.dtype == np.float32 and a.shape[1] == 256 and all(r["row"] < a.shape[0] for r in R)
print("PASS kill/loadable-and-cited-rows-present" if ok else f"FAIL kill/cited: {a.shape} {[r['row'] for r in R]}")
PYEOF
expect kill/resume 0 "$T" run -m vec $M --save-dir "$TMP/k" -o "$TMP/k.jsonl" --resume -T "$TMP/list120"
rows kill/resume "$TMP/k.jsonl" "$TMP/k" "$TMP/ref120.jsonl"
"$PY" - "$TMP" <<'PYEOF'
import json, sys
import numpy as np
d = sys.argv[1]
R = [json.loads(l) for l in open(f"{d}/k.jsonl")]
a = np.load(f"{d}/k/embeddings.npy")
ok = len(R) == 120 and len({r["input"] for r in R}) == 120 and a.shape[0] == 120
print("PASS kill/resume/every-input-once-every-row-cited" if ok else f"FAIL kill/resume/once: {len(R)} records, {a.shape}")
PYEOF

# --resume appends: a first half, then all of them
head -5 "$TMP/list12" >"$TMP/list5"
"$T" run -m vec $M -q --save-dir "$TMP/r" -o "$TMP/r.jsonl" -T "$TMP/list5"
expect resume/append 0 "$T" run -m vec $M --save-dir "$TMP/r" -o "$TMP/r.jsonl" --resume -T "$TMP/list12"
rows resume/append "$TMP/r.jsonl" "$TMP/r" "$TMP/ref12.jsonl"
records resume/append/twelve "$TMP/r.jsonl" 'len(R) == 12 and [r["row"] for r in R] == list(range(12))'
# the wrong model for the file: usage error, the file's rows kept
expect resume/dim-mismatch 2 "$T" run -m vec4 $M --save-dir "$TMP/r" -o "$TMP/r.jsonl" --resume "$TMP/in/050.png"
grep_in resume/dim-mismatch/message "$TMP/err" "^tinfer: --resume: the rows of '.*/r/embeddings.npy' have 256 values, model 'vec4' gives 4$"
"$PY" -c "import numpy as np; a = np.load('$TMP/r/embeddings.npy'); print('PASS resume/dim-mismatch/file-kept' if a.shape == (12, 256) else f'FAIL resume/dim-mismatch/file-kept: {a.shape}')"
records resume/dim-mismatch/no-ok-record "$TMP/r.jsonl" 'len(R) == 13 and R[12]["ok"] is False'
# records citing rows the file does not have: refused before anything runs
"$PY" -c "
import numpy as np; np.save('$TMP/r/embeddings.npy', np.zeros((3, 256), np.float32))"
expect resume/short-file 2 "$T" run -m vec $M --save-dir "$TMP/r" -o "$TMP/r.jsonl" --resume "$TMP/in/050.png"
grep_in resume/short-file/message "$TMP/err" "^tinfer: --resume: '.*embeddings.npy' is not the float32 \[N, D\] matrix tinfer writes|cite 12 rows"
rm "$TMP/r/embeddings.npy"
expect resume/missing-file 2 "$T" run -m vec $M --save-dir "$TMP/r" -o "$TMP/r.jsonl" --resume "$TMP/in/050.png"
grep_in resume/missing-file/message "$TMP/err" "^tinfer: --resume: the records cite 12 rows of '.*embeddings.npy', which was missing or empty$"

# destinations checked before libtorch: not a folder, a symlink planted there, a folder in the way
: >"$TMP/afile"
expect dest/not-dir 2 "$T" run -m vec $M --save-dir "$TMP/afile/sub" "$TMP/in/000.png"
grep_in dest/not-dir/message "$TMP/err" "^tinfer: --save-dir '.*afile/sub': Not a directory$"
mkdir -p "$TMP/ln" "$TMP/dirthere/embeddings.npy"
ln -s "$TMP/afile" "$TMP/ln/embeddings.npy"
expect dest/symlink 2 "$T" run -m vec $M --save-dir "$TMP/ln" "$TMP/in/000.png"
grep_in dest/symlink/message "$TMP/err" "^tinfer: --save-dir: '.*ln/embeddings.npy': is a symbolic link$"
empty dest/symlink/target-untouched "$TMP/afile"
expect dest/directory 2 "$T" run -m vec $M --save-dir "$TMP/dirthere" "$TMP/in/000.png"
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=openat -o "$TMP/trace" "$T" run -m vec $M --save-dir "$TMP/ln" "$TMP/in/000.png" >/dev/null 2>&1
	if grep -q 'libtorch' "$TMP/trace"; then fail dest/lazy "libtorch mapped"; else pass dest/lazy; fi
fi
expect dest/other-task 2 "$T" run -m digits --save-dir "$TMP/x" "$DIGITS/d0_7.png"
grep_in dest/other-task/message "$TMP/err" "^tinfer: --save-dir does not apply to model 'digits': its task is classify$"

# the file cannot grow (file size limit): exit 5, and the records that got
# out cite rows the file holds
(trap '' XFSZ; ulimit -f 4; exec "$T" run -m vec $M -b 1 --save-dir "$TMP/full" -T "$TMP/list12") >"$TMP/full.jsonl" 2>"$TMP/err"
st=$?
if [ "$st" -eq 5 ]; then pass full/exit-5; else fail full/exit-5 "exit $st: $(head -c 300 "$TMP/err")"; fi
grep_in full/message "$TMP/err" "writing '.*full/embeddings.npy': File too large"
"$PY" - "$TMP" <<'PYEOF'
import json, sys
import numpy as np
d = sys.argv[1]
R = [json.loads(l) for l in open(f"{d}/full.jsonl")]
a = np.load(f"{d}/full/embeddings.npy")
ok = 0 < len(R) < 12 and all(r["ok"] and r["row"] < a.shape[0] for r in R)
print("PASS full/records-cite-rows-held" if ok else f"FAIL full/records-cite-rows-held: {len(R)} records, {a.shape}")
PYEOF

# the README's pipeline: faces, then faceid on the crops; the record traces
# its row back to the source and the box
"$T" run -m faces -q "$SAMPLES/inputs/photos/astronaut.png" |
	"$T" run -m faceid -q --crop-from - --save-dir "$TMP/f" >"$TMP/out" 2>"$TMP/err"
records crop-from/row "$TMP/out" \
	'len(R) == 1 and R[0]["input"].endswith("astronaut.png") and R[0]["det"] == 0 and len(R[0]["box"]) == 4 and R[0]["row"] == 0'
"$PY" -c "import numpy as np; a = np.load('$TMP/f/embeddings.npy'); print('PASS crop-from/file' if a.shape == (1, 128) else f'FAIL crop-from/file: {a.shape}')"
# a detector's records made on crops (they have "box"): their boxes are in
# the crop's pixels, so cutting them from the source would be wrong: an
# error record each, not a wrong crop
printf '{"input": "%s", "det": 3, "ok": true, "task": "detect", "box": [10, 10, 60, 60], "detections": [{"box": [1, 1, 20, 20], "score": 0.9, "class": 0, "label": "face"}]}\n' \
	"$TMP/in/000.png" >"$TMP/nested.jsonl"
expect crop-from/nested 1 "$T" run -m vec $M --crop-from "$TMP/nested.jsonl"
records crop-from/nested/error-record "$TMP/out" \
	'len(R) == 1 and R[0]["ok"] is False and R[0]["det"] == 3 and "made on a crop" in R[0]["error"]'
