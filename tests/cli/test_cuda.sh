# --max-vram and --empty-cache (issue 17, item 3), on the device at hand.
# On the CPU both are usage errors (exit 2, no record: a cap that would be
# silently ignored is not given); on CUDA weights over the cap exit 4 before
# any input, naming both sizes, a cap above them holds, and --empty-cache
# reports reserved bytes before and after.  Values are checked everywhere.
. tests/cli/lib.sh
ONE="$DIGITS/d0_7.png"

# values: sizes with K/M/G/T (powers of 1024) or N%
for v in 0 -1G 5X 1GiBB 101% 0% abc 1e400 %; do
	expect "value/$v" 2 "$T" run -m digits --max-vram "$v" "$ONE"
	grep_in "value/$v/message" "$TMP/err" "--max-vram: '.*' is not a size"
done
expect value/takes-no-value 2 "$T" run -m digits --empty-cache=1 "$ONE"

if ! has_cuda; then
	for v in 1.5G 512MiB 50% 1073741824; do
		expect "cpu/max-vram-$v" 2 "$T" run -m digits --max-vram "$v" --report "$TMP/rep.json" "$ONE"
		grep_in "cpu/max-vram-$v/message" "$TMP/err" '^tinfer: --max-vram applies to CUDA devices only'
		empty "cpu/max-vram-$v/no-record" "$TMP/out"
	done
	records cpu/report-says-why "$TMP/rep.json" '"--max-vram applies to CUDA devices only" in R[0]["error"] and R[0]["records"] == 0'
	expect cpu/explicit 2 "$T" run -m digits -d cpu --max-vram 1G "$ONE"
	grep_in cpu/explicit/message "$TMP/err" 'CUDA devices only \(the device is cpu\)'
	expect cpu/empty-cache 2 "$T" run -m digits -d cpu --empty-cache "$ONE"
	grep_in cpu/empty-cache/message "$TMP/err" '^tinfer: --empty-cache applies to CUDA devices only'
	empty cpu/empty-cache/no-record "$TMP/out"
	exit 0
fi

# CUDA: a model with 64 MiB of fp32 weights
"$PY" - "$TMP" <<'PYEOF'
import json, sys, torch
class W(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.l = torch.nn.Linear(4096, 4096)
        self.c = torch.nn.Linear(4096, 10)
    def forward(self, x):
        return self.c(torch.relu(self.l(x.flatten(1).repeat(1, 4096 // 784 + 1)[:, :4096])))
torch.jit.script(W()).save(f"{sys.argv[1]}/w.pt")
json.dump({"models": {"w": {"file": f"{sys.argv[1]}/w.pt", "task": "classify",
           "input": {"size": [28, 28], "channels": 1, "resize": "stretch"}}}}, open(f"{sys.argv[1]}/w.json", "w"))
PYEOF
M="-m w --models $TMP/w.json"
expect cuda/below-weights 4 "$T" run $M -d cuda --max-vram 16M "$ONE"
grep_in cuda/below-weights/names-both "$TMP/err" 'fp32 weights need 64\.[0-9] MiB \([0-9]+ bytes\), more than --max-vram 16\.0 MiB \(16777216 bytes\)|weights do not fit under --max-vram 16\.0 MiB'
empty cuda/below-weights/no-record "$TMP/out"
expect cuda/above-weights 0 "$T" run $M -d cuda --max-vram 1G -b 4 --report "$TMP/rep.json" "$DIGITS"
records cuda/above-weights/held "$TMP/rep.json" \
	'R[0]["vram_bytes"]["limit"] == 2**30 and 0 < R[0]["vram_bytes"]["peak_reserved"] <= 2**30'
expect cuda/empty-cache 0 "$T" run $M -d cuda --empty-cache -b 4 --report "$TMP/rep.json" "$DIGITS"
records cuda/empty-cache/report "$TMP/rep.json" \
	'0 <= R[0]["vram_bytes"]["reserved_after_empty_cache"] <= R[0]["vram_bytes"]["reserved_before_empty_cache"]'
expect cuda/half 0 "$T" run $M -d cuda --half --report "$TMP/half.json" "$ONE"
expect cuda/fp32 0 "$T" run $M -d cuda --report "$TMP/fp32.json" "$ONE"
"$PY" - "$TMP/half.json" "$TMP/fp32.json" <<'PYEOF'
import json, sys
h, f = (json.load(open(p))["vram_bytes"] for p in sys.argv[1:])
ok = h["load_peak"] <= 0.55 * f["load_peak"]
print(("PASS" if ok else "FAIL") + f" cuda/half-load-peak: {h['load_peak']} vs fp32 {f['load_peak']}")
PYEOF
