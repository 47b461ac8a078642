# Hostile inputs: every one gets exactly one error record with a one-line
# reason, in input order; none crashes the process, none makes it allocate
# what its header claims, and the good input among them still runs.
. tests/cli/lib.sh

I=tests/data/images
N=tests/data/npy
ln -s self "$TMP/self"            # a symlink loop
mkfifo "$TMP/fifo.jpg"
mkdir "$TMP/dir.png"
: >"$TMP/zero.png"
set -- "$I/empty.png" "$I/text.jpg" "$I/truncated.png" "$I/truncated.jpg" "$I/corrupt_idat.png" \
	"$I/bad_crc.png" "$I/short_idat.png" "$I/signature_only.png" "$I/soi_only.jpg" \
	"$I/huge.png" "$I/huge.jpg" "$I/zero.png" "$I/zero.jpg" \
	"$N/bad_magic.npy" "$N/header_past_end.npy" "$N/huge_dim.npy" "$N/huge_shape.npy" \
	"$N/object.npy" "$N/truncated.npy" \
	"$TMP/self" "$TMP/fifo.jpg" "$TMP/dir.png" "$TMP/zero.png" "$TMP/missing.png" /proc/self/mem
bad=$#
printf '%s\n' "$@" "$DIGITS/d0_7.png" >"$TMP/list"
expect hostile/exit-1 1 "$T" run -m digits -b 4 -T "$TMP/list" --report "$TMP/rep.json"
"$PY" - "$TMP/out" "$TMP/list" "$bad" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().split("\n")
want = open(sys.argv[2]).read().split("\n")[:-1]
bad = int(sys.argv[3])
R = [json.loads(l) for l in lines if l]
def check(c, name, why):
    print(f"PASS {name}" if c else f"FAIL {name}: {why}")
check([r["input"] for r in R] == want, "hostile/one-record-each-in-order", [r["input"] for r in R])
for r in R[:bad]:
    e = r.get("error", "")
    check(r["ok"] is False and e and "\n" not in e and len(e) < 300, "hostile/" + r["input"].rsplit("/", 1)[1],
          repr(e))
check(R[-1]["ok"] and R[-1]["top"][0]["label"] == "7", "hostile/good-input-still-runs", R[-1])
PYEOF
records hostile/report "$TMP/rep.json" 'R[0]["failed"] == '"$bad"' and R[0]["ok"] == 1'
# the 100000x100000 PNG and the 65000x65000 JPEG are refused from their
# headers: without the good input, libtorch is never loaded and RSS stays small
expect bombs 1 "$T" run -m digits --report "$TMP/bombs.json" "$I/huge.png" "$I/huge.jpg" "$N/huge_shape.npy"
records bombs/reasons "$TMP/out" \
	'all("more than --max-pixels" in r["error"] for r in R[:2]) and "absurd" in R[2]["error"]'
records bombs/no-allocation "$TMP/bombs.json" 'R[0]["ram_bytes"]["peak"] < 32 * 2**20 and R[0]["libtorch"] is None'
# --max-pixels is the user's to lower
expect max-pixels 1 "$T" run -m digits --max-pixels 1000 "$DIGITS/d9_8.png" "$DIGITS/d0_7.png"
records max-pixels/refused "$TMP/out" \
	'not R[0]["ok"] and "112x112" in R[0]["error"] and R[1]["ok"]'
