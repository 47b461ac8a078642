# Batch jobs that never lose an input: kill -9 then --resume, failed inputs
# retried, shards under GNU parallel, SIGINT/SIGTERM, SIGPIPE, out-of-memory
# backoff under a real address-space limit, and the progress line.
. tests/cli/lib.sh

# 600 real digits as PNG files
"$PY" - "$TMP/d" <<'PYEOF'
import os, sys, numpy as np
from PIL import Image
os.makedirs(sys.argv[1])
x = np.load(os.path.join(os.environ["ROOT"], "samples/data/mnist-holdout.npy"))[:600]
for i, im in enumerate(x):
    Image.fromarray(im).save(os.path.join(sys.argv[1], f"{i:04d}.png"))
PYEOF
N=600
one_ok_each() { # NAME FILE — every input of $TMP/d has exactly one record there, ok
	records "$1" "$2" "sorted(r['input'] for r in R) == sorted('$TMP/d/' + f for f in __import__('os').listdir('$TMP/d')) and all(r['ok'] for r in R)"
}

# kill -9 in the middle, then --resume: one ok record per input
"$T" run -m digits -b 1 -j 1 -q -o "$TMP/res.jsonl" "$TMP/d" &
pid=$!
wait_lines "$TMP/res.jsonl" 40
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
n=$(wc -l <"$TMP/res.jsonl")
[ "$n" -ge 40 ] && [ "$n" -lt $N ] && pass kill9/partial || fail kill9/partial "$n records after the kill"
printf '{"input": "%s/d/0599.png", "ok": tr' "$TMP" >>"$TMP/res.jsonl" # a torn last line
expect kill9/resume 0 "$T" run -m digits -b 16 --resume -o "$TMP/res.jsonl" --report "$TMP/rep.json" "$TMP/d"
one_ok_each kill9/one-ok-record-each "$TMP/res.jsonl"
records kill9/skipped-counted "$TMP/rep.json" "R[0]['skipped'] >= 40 and R[0]['skipped'] + R[0]['ok'] == $N"
expect resume-again 0 "$T" run -m digits --resume -o "$TMP/res.jsonl" --report "$TMP/rep.json" "$TMP/d"
records resume-again/nothing-left "$TMP/rep.json" "R[0]['skipped'] == $N and R[0]['ok'] == 0 and R[0]['libtorch'] is None"
expect resume-needs-output 2 "$T" run -m digits --resume "$TMP/d"

# a failed input is retried by --resume, and its error record replaced
mkdir "$TMP/f"
cp "$TMP/d/0000.png" "$TMP/f/a.png"
printf 'junk' >"$TMP/f/b.png"
expect retry/first 1 "$T" run -m digits -o "$TMP/f.jsonl" "$TMP/f"
cp "$TMP/d/0001.png" "$TMP/f/b.png"
expect retry/resume 0 "$T" run -m digits --resume -o "$TMP/f.jsonl" "$TMP/f"
records retry/one-record-each "$TMP/f.jsonl" 'len(R) == 2 and all(r["ok"] for r in R) and R[0]["input"].endswith("a.png")'

# shards partition the list; under GNU parallel their union is the single run
"$T" run -m digits -q -o "$TMP/all.jsonl" "$TMP/d"
if command -v parallel >/dev/null 2>&1; then
	parallel --will-cite -j 2 "$T" run -m digits -j 1 -q -o "$TMP/shard{}.jsonl" --shard {}/3 "$TMP/d" ::: 0 1 2
	"$PY" - "$TMP" <<'PYEOF'
import json, sys
d = sys.argv[1]
load = lambda p: [json.loads(l) for l in open(p)]
full = load(f"{d}/all.jsonl")
shards = [load(f"{d}/shard{i}.jsonl") for i in range(3)]
ins = [[r["input"] for r in s] for s in shards]
ok = sorted(sum(ins, [])) == sorted(r["input"] for r in full) and len(set(sum(ins, []))) == len(full)
print("PASS shards/union-is-the-whole" if ok else "FAIL shards/union-is-the-whole: differ")
same = {r["input"]: r["top"][0]["index"] for r in full} == {r["input"]: r["top"][0]["index"] for s in shards for r in s}
print("PASS shards/same-results" if same else "FAIL shards/same-results: differ")
pos = ins[1] == [r["input"] for i, r in enumerate(full) if i % 3 == 1]
print("PASS shards/position-mod-n" if pos else "FAIL shards/position-mod-n: shard 1 is not p mod 3 = 1")
PYEOF
else
	fail shards/parallel "GNU parallel is not installed (tools/deps.sh installs it)"
fi
expect shard-bad 2 "$T" run -m digits --shard 3/3 "$TMP/d"
expect shard-bad-form 2 "$T" run -m digits --shard 1 "$TMP/d"

# SIGINT and SIGTERM: completed records flushed, report written, 130 / 143
for sig in INT TERM; do
	rm -f "$TMP/s.jsonl" "$TMP/s.json"
	"$T" run -m digits -b 1 -j 1 -q -o "$TMP/s.jsonl" --report "$TMP/s.json" "$TMP/d" &
	pid=$!
	wait_lines "$TMP/s.jsonl" 20
	kill -$sig $pid
	wait $pid
	st=$?
	want=130
	[ $sig = TERM ] && want=143
	[ $st -eq $want ] && pass "sig$sig/exit-$want" || fail "sig$sig/exit-$want" "exit $st"
	records "sig$sig/complete-records" "$TMP/s.jsonl" "0 < len(R) < $N and all(r['ok'] for r in R)"
	"$PY" -c "
import json
R = [json.loads(l) for l in open('$TMP/s.jsonl')]
rep = json.load(open('$TMP/s.json'))
print('PASS sig$sig/report' if rep['ok'] == len(R) else f'FAIL sig$sig/report: {rep[\"ok\"]} vs {len(R)}')"
done

# SIGPIPE: | head ends quietly
"$T" run -m digits "$TMP/d" 2>"$TMP/pipe.err" | head -n 2 >"$TMP/pipe.out"
records sigpipe/head-got-records "$TMP/pipe.out" 'len(R) == 2'
empty sigpipe/no-message "$TMP/pipe.err"

# out of memory for real (a lowered address-space limit): the batch halves,
# the same inputs run again, nothing is lost
"$PY" - "$TMP" <<'PYEOF'
import json, sys, torch
class Big(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c = torch.nn.Conv2d(3, 64, 3, padding=1)
        self.l = torch.nn.Linear(64, 4)
    def forward(self, x):
        y = torch.relu(self.c(x))          # [B, 64, 256, 256]: 16 MiB an image
        return self.l((y * 2 + 1).mean((2, 3)))
torch.jit.trace(Big().eval(), torch.zeros(1, 3, 256, 256)).save(f"{sys.argv[1]}/big.pt")
json.dump({"models": {"big": {"file": f"{sys.argv[1]}/big.pt", "task": "classify",
           "input": {"size": [256, 256], "resize": "stretch"}}}}, open(f"{sys.argv[1]}/big.json", "w"))
PYEOF
ls "$TMP"/d/00[0-5]?.png >"$TMP/list64"
# room for one image's 16 MiB activations and a few more, not for 60
# (measured with -b 60 on one image, so that the batch's buffers count).
# On the CPU (-d cpu): an address-space limit is a CPU allocation limit, and
# the CUDA driver, which reserves vast address ranges, does not start under one.
lim=$(min_vm "$T" run -d cpu -m big --models "$TMP/big.json" -b 60 "$TMP/d/0000.png")
lim=$((lim + 327680))
(ulimit -v $lim; "$T" run -d cpu -m big --models "$TMP/big.json" -b 60 -T "$TMP/list64" --report "$TMP/oom.json" \
	>"$TMP/oom.jsonl" 2>"$TMP/oom.err")
st=$?
[ $st -eq 0 ] && pass oom/exit-0 || fail oom/exit-0 "exit $st: $(tail -n 3 "$TMP/oom.err")"
records oom/retried "$TMP/oom.json" 'R[0]["oom_retries"] >= 1 and R[0]["ok"] == 60'
records oom/all-records "$TMP/oom.jsonl" 'len(R) == 60 and all(r["ok"] for r in R)'
grep_in oom/warned "$TMP/oom.err" 'out of memory at batch 60: batch size now 30'

# the progress line: on a terminal, never on a pipe
"$T" run -m digits -o /dev/null "$TMP/d" 2>"$TMP/prog.pipe"
if grep -q 'ETA' "$TMP/prog.pipe"; then fail progress/not-on-pipe "progress on a pipe"; else pass progress/not-on-pipe; fi
"$T" run -m digits --progress always -o /dev/null "$TMP/d" 2>"$TMP/prog.always"
grep_in progress/always "$TMP/prog.always" "$N/$N \\(0 failed\\) .* ETA 0:00:00 +RSS [0-9]+ MiB"
if command -v script >/dev/null 2>&1; then
	script -qec "$T run -m digits -o /dev/null $TMP/d" /dev/null </dev/null >"$TMP/prog.tty" 2>&1
	grep_in progress/on-a-terminal "$TMP/prog.tty" "$N/$N"
	script -qec "$T run -m digits -q -o /dev/null $TMP/d" /dev/null </dev/null >"$TMP/prog.q" 2>&1
	if grep -q ETA "$TMP/prog.q"; then fail progress/quiet "progress with -q"; else pass progress/quiet; fi
fi

# --shard auto from a Kubernetes Indexed Job: the shards partition the inputs
for k in 0 1 2; do
	JOB_COMPLETION_INDEX=$k TINFER_SHARDS=3 "$T" run -m digits -j 1 -q --shard auto -o "$TMP/k8s.$k.jsonl" "$TMP/d"
done
cat "$TMP/k8s.0.jsonl" "$TMP/k8s.1.jsonl" "$TMP/k8s.2.jsonl" >"$TMP/k8s.all"
one_ok_each k8s/partition "$TMP/k8s.all"
records k8s/positions "$TMP/k8s.1.jsonl" "[r['input'] for r in R] == sorted('$TMP/d/' + f for f in __import__('os').listdir('$TMP/d'))[1::3]"
expect k8s/index-out-of-range 2 env JOB_COMPLETION_INDEX=3 TINFER_SHARDS=3 "$T" run -m digits --shard auto "$TMP/d"
grep_in k8s/index-message "$TMP/err" 'JOB_COMPLETION_INDEX 3 is out of range for \$TINFER_SHARDS 3'
expect k8s/no-count 2 env JOB_COMPLETION_INDEX=0 "$T" run -m digits --shard auto "$TMP/d"
expect shard-auto/no-scheduler 2 env -u SLURM_ARRAY_TASK_ID -u JOB_COMPLETION_INDEX "$T" run -m digits --shard auto "$TMP/d"
grep_in shard-auto/no-scheduler-message "$TMP/err" 'no scheduler in the environment'
expect slurm-env/list-array 2 env SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_MAX=7 SLURM_ARRAY_TASK_COUNT=3 "$T" run -m digits --shard auto "$TMP/d"
grep_in slurm-env/list-array-message "$TMP/err" 'not one evenly stepped range'
