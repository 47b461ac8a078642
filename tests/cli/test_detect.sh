# detect on the real binary: --draw pictures, options and their errors,
# channels-last and its fallback, and the precision switches' tolerance.
. tests/cli/lib.sh

P="$SAMPLES/inputs/photos"
expect draw 0 "$T" run -m faces --draw "$TMP/drawn" "$P/astronaut.jpg" "$P/astronaut.png" "$P/coffee.png"
records draw/paths "$TMP/out" \
	'R[0]["drawn"].endswith("/000000_astronaut.jpg") and R[1]["drawn"].endswith("/000001_astronaut.png") and R[2]["drawn"].endswith("_coffee.png")'
"$PY" - "$TMP" <<'PYEOF'
import json, sys
from PIL import Image
d = sys.argv[1]
R = [json.loads(l) for l in open(f"{d}/out")]
for r in R:
    im = Image.open(r["drawn"])
    src = Image.open(r["input"])
    fmt_ok = im.format == ("JPEG" if r["input"].endswith(".jpg") else "PNG") and im.size == src.size
    print(f"PASS draw/format-size/{r['drawn'].rsplit('/', 1)[1]}" if fmt_ok else f"FAIL draw/format-size: {im.format} {im.size}")
# the face box's outline is drawn in the first class colour (FF3838) on the PNG
r = R[1]
import math
x1, y1, x2, y2 = (math.floor(v) for v in r["detections"][0]["box"])
px = Image.open(r["drawn"]).convert("RGB").getpixel((x1, (y1 + y2) // 2))
print("PASS draw/outline-colour" if px == (0xFF, 0x38, 0x38) else f"FAIL draw/outline-colour: {px}")
PYEOF
expect draw-wrong-task 2 "$T" run -m digits --draw "$TMP/x" "$DIGITS/d0_7.png"
grep_in draw-wrong-task/message "$TMP/err" "^tinfer: --draw does not apply to model 'digits': its task is classify$"

# thresholds from the command line win over the manifest's
expect conf-high 0 "$T" run -m faces --conf 0.99 "$P/astronaut.png"
records conf-high/none "$TMP/out" 'R[0]["detections"] == []'
expect conf-low 0 "$T" run -m faces --conf 0.01 "$P/astronaut.png"
records conf-low/more "$TMP/out" 'len(R[0]["detections"]) == 2 and R[0]["detections"][1]["score"] < 0.5'
expect max-det 0 "$T" run -m faces --conf 0.01 --max-det 1 "$P/astronaut.png"
records max-det/best-only "$TMP/out" 'len(R[0]["detections"]) == 1 and R[0]["detections"][0]["score"] > 0.9'
expect bad-conf 2 "$T" run -m faces --conf 1.5 "$P/astronaut.png"
expect bad-max-det 2 "$T" run -m faces --max-det 0 "$P/astronaut.png"

# a detect entry without a decoder is a model error
printf '{"models": {"nodec": {"file": "%s", "task": "detect", "input": {"size": 416}}}}' \
	"$SAMPLES/models/faces.pt" >"$TMP/nodec.json"
expect no-decoder 3 "$T" run -m nodec --models "$TMP/nodec.json" "$P/coffee.png"
grep_in no-decoder/message "$TMP/err" 'needs a decoder'
printf '{"models": {"wrong": {"file": "%s", "task": "detect", "input": {"size": 416}, "decoder": {"type": "yolov8"}}}}' \
	"$SAMPLES/models/faces.pt" >"$TMP/wrong.json"
expect wrong-decoder 3 "$T" run -m wrong --models "$TMP/wrong.json" "$P/coffee.png"
grep_in wrong-decoder/message "$TMP/err" 'yolov8 decoder wants'

# channels-last by default, the same detections as contiguous within float rounding
"$T" run -m faces --report "$TMP/cl.json" -b 3 "$P" >"$TMP/cl.jsonl" 2>/dev/null
"$T" run -m faces --memory-format contiguous --report "$TMP/co.json" -b 3 "$P" >"$TMP/co.jsonl" 2>/dev/null
records memory-format/default "$TMP/cl.json" 'R[0]["memory_format"] == "channels-last"'
records memory-format/forced "$TMP/co.json" 'R[0]["memory_format"] == "contiguous"'
"$PY" - "$TMP" <<'PYEOF'
import json, sys
d = sys.argv[1]
a, b = ([json.loads(l) for l in open(f"{d}/{n}.jsonl")] for n in ("cl", "co"))
ok = all(len(x["detections"]) == len(y["detections"]) and all(
    max(abs(p - q) for p, q in zip(u["box"], v["box"])) < 0.05 and abs(u["score"] - v["score"]) < 1e-4
    for u, v in zip(x["detections"], y["detections"])) for x, y in zip(a, b))
print("PASS memory-format/same-detections" if ok else "FAIL memory-format/same-detections: differ")
PYEOF
# a model that view()s its input cannot take channels-last: warned, then contiguous
"$PY" - "$TMP" <<'PYEOF'
import json, sys, torch
class Viewer(torch.nn.Module):
    def forward(self, x):
        return x.view(x.shape[0], -1)[:, :10]
torch.jit.trace(Viewer(), torch.zeros(1, 3, 8, 8)).save(f"{sys.argv[1]}/viewer.pt")
json.dump({"models": {"viewer": {"file": f"{sys.argv[1]}/viewer.pt", "task": "classify",
           "input": {"size": 8, "resize": "stretch"}}}}, open(f"{sys.argv[1]}/viewer.json", "w"))
PYEOF
expect channels-last-fallback 0 "$T" run -m viewer --models "$TMP/viewer.json" --report "$TMP/v.json" -b 2 \
	"$DIGITS/d0_7.png" "$DIGITS/d1_2.png" "$DIGITS/d2_1.png"
records channels-last-fallback/all-ok "$TMP/out" 'len(R) == 3 and all(r["ok"] for r in R)'
grep_in channels-last-fallback/warned "$TMP/err" 'channels-last input failed'
records channels-last-fallback/reported "$TMP/v.json" 'R[0]["memory_format"] == "contiguous"'
# forced, every input fails in the model: the first batch says it is the model's fault (exit 3)
expect channels-last-forced 3 "$T" run -m viewer --models "$TMP/viewer.json" --memory-format channels-last "$DIGITS/d0_7.png" "$DIGITS/d1_2.png"
grep_in channels-last-forced/model-error "$TMP/err" "model 'viewer' fails on every input of the first batch: forward pass failed"

# precision switches on the face detector, with their stated tolerance:
# bf16 autocast keeps the face within 3 px and 0.02 of fp32's score
for mode in "--autocast" "--dtype bf16"; do
	"$T" run -m faces $mode --report "$TMP/p.json" "$P/astronaut.png" >"$TMP/p.jsonl" 2>/dev/null
	"$PY" - "$TMP" "$mode" <<'PYEOF'
import json, sys
d, mode = sys.argv[1], sys.argv[2]
a = [json.loads(l) for l in open(f"{d}/p.jsonl")][0]["detections"]
ok = len(a) == 1 and max(abs(p - q) for p, q in zip(a[0]["box"], [122.3, 55.95, 209.02, 139.28])) < 3 and \
    abs(a[0]["score"] - 0.97585) < 0.02
print(f"PASS precision{mode.replace(' ', '')}/within-tolerance" if ok else f"FAIL precision{mode}: {a}")
PYEOF
done

# --fast-decode: a large JPEG decoded at reduced scale still reports its own
# size and boxes in its own pixels (close to a full decode's)
"$PY" -c "
from PIL import Image
im = Image.open('$SAMPLES/inputs/photos/astronaut.jpg').convert('RGB').resize((2049, 1537))
im.save('$TMP/big.jpg', quality=92)"
"$T" run -m faces "$TMP/big.jpg" >"$TMP/full.jsonl" 2>/dev/null
expect fast-decode 0 "$T" run -m faces --fast-decode --report "$TMP/fast.json" "$TMP/big.jpg"
"$PY" - "$TMP" <<'PYEOF'
import json, sys
d = sys.argv[1]
full = json.loads(open(f"{d}/full.jsonl").read())
fast = json.loads(open(f"{d}/out").read())
ok = fast["width"] == 2049 and fast["height"] == 1537
print("PASS fast-decode/source-size" if ok else f"FAIL fast-decode/source-size: {fast['width']}x{fast['height']}")
a, b = full["detections"], fast["detections"]
ok = len(a) == len(b) == 1 and max(abs(x - y) for x, y in zip(a[0]["box"], b[0]["box"])) < 0.01 * 2049
print("PASS fast-decode/boxes-in-source-pixels" if ok else f"FAIL fast-decode/boxes-in-source-pixels: {a} vs {b}")
PYEOF
records fast-decode/reported "$TMP/fast.json" 'R[0]["fast_decode"] is True'

# --classes: labels or indices; filtered before --max-det, so max-det counts
# the kept boxes.  A model whose output is fixed: cat 0.9 and 0.8, dog 0.95
# and 0.6, bird 0.7, none overlapping.
"$PY" - "$TMP" <<'PYEOF'
import json, sys, torch
d = sys.argv[1]
class Fixed(torch.nn.Module):
    def forward(self, x):
        b = torch.tensor([[0., 0, 4, 4, 0.9, 0], [5, 5, 9, 9, 0.95, 1], [10, 10, 14, 14, 0.7, 2],
                          [15, 15, 19, 19, 0.8, 0], [20, 20, 24, 24, 0.6, 1]])
        return b.unsqueeze(0).repeat(x.shape[0], 1, 1) + 0 * x.mean()
class Yolo(torch.nn.Module):  # yolov8 layout, 3 classes, no labels in its entry
    def forward(self, x):
        o = torch.zeros(x.shape[0], 7, 2)
        o[:, :4, 0] = torch.tensor([8., 8, 4, 4])
        o[:, 6, 0] = 0.9
        return o + 0 * x.mean()
torch.jit.trace(Fixed(), torch.zeros(1, 3, 32, 32)).save(f"{d}/fixed.pt")
torch.jit.trace(Yolo(), torch.zeros(1, 3, 32, 32)).save(f"{d}/yolo.pt")
inp = {"size": 32, "resize": "stretch"}
json.dump({"models": {
    "fixed": {"file": f"{d}/fixed.pt", "task": "detect", "input": inp, "decoder": {"type": "boxes"},
              "labels": ["cat", "dog", "bird"], "defaults": {"conf": 0.5}},
    "coco": {"file": f"{d}/fixed.pt", "task": "detect", "input": inp, "decoder": {"type": "boxes"},
             "labels": [f"thing{i}" for i in range(80)]},
    "nolabels": {"file": f"{d}/yolo.pt", "task": "detect", "input": inp, "decoder": {"type": "yolov8"}}}},
    open(f"{d}/cls.json", "w"))
PYEOF
C="--models $TMP/cls.json"
I="$DIGITS/d0_7.png"
expect classes/all 0 "$T" run -m fixed $C "$I"
records classes/all/five "$TMP/out" '[d["label"] for d in R[0]["detections"]] == ["dog", "cat", "cat", "bird", "dog"]'
expect classes/label 0 "$T" run -m fixed $C --classes dog "$I"
records classes/label/only-dogs "$TMP/out" '[(d["label"], d["class"]) for d in R[0]["detections"]] == [("dog", 1), ("dog", 1)]'
expect classes/mixed 0 "$T" run -m fixed $C --classes bird,0 "$I"
records classes/mixed/cats-and-bird "$TMP/out" '[d["label"] for d in R[0]["detections"]] == ["cat", "cat", "bird"]'
expect classes/max-det 0 "$T" run -m fixed $C --classes bird --max-det 1 "$I"
records classes/max-det/counts-kept "$TMP/out" '[d["label"] for d in R[0]["detections"]] == ["bird"]'
expect classes/faces 0 "$T" run -m faces --classes face "$P/astronaut.png"
records classes/faces/kept "$TMP/out" 'len(R[0]["detections"]) == 1'
# what the model does not have is a usage error, before libtorch is mapped
expect classes/unknown 2 "$T" run -m fixed $C --classes dog,horse "$I"
grep_in classes/unknown/message "$TMP/err" "^tinfer: --classes: model 'fixed' has no class 'horse' \(valid: cat, dog, bird\)$"
empty classes/unknown/no-records "$TMP/out"
if command -v strace >/dev/null 2>&1; then
	strace -f -qq -e trace=openat -o "$TMP/trace" "$T" run -m fixed $C --classes horse "$I" >/dev/null 2>&1
	if grep -q 'libtorch' "$TMP/trace"; then fail classes/unknown/lazy "libtorch mapped"; else pass classes/unknown/lazy; fi
fi
expect classes/index-range 2 "$T" run -m fixed $C --classes 3 "$I"
grep_in classes/index-range/message "$TMP/err" "has no class '3' \(valid: cat, dog, bird\)"
expect classes/faces-index 2 "$T" run -m faces --classes 1 "$P/astronaut.png"
grep_in classes/faces-index/message "$TMP/err" "model 'faces' has no class '1' \(valid: face\)"
expect classes/many-labels 2 "$T" run -m coco $C --classes zebra "$I"
grep_in classes/many-labels/abbreviated "$TMP/err" "valid: thing0, thing1, .*thing11, \.\.\. \(80 labels, or indices 0 to 79\)\)$"
for bad in "dog,,cat" ",dog" "dog," "" "-1" "99999999999999999999" "1.0" " 1" "Dog"; do
	expect "classes/bad[$bad]" 2 "$T" run -m fixed $C --classes "$bad" "$I"
	grep_in "classes/bad[$bad]/one-line" "$TMP/err" "^tinfer: --classes"
done
grep_in classes/bad/names-item "$TMP/err" "no class 'Dog'"
expect classes/duplicate 2 "$T" run -m fixed $C --classes dog,1 "$I"
grep_in classes/duplicate/message "$TMP/err" "^tinfer: --classes: class 1 \('dog'\) is given twice$"
expect classes/not-detect 2 "$T" run -m digits --classes 7 "$I"
grep_in classes/not-detect/message "$TMP/err" "^tinfer: --classes does not apply to model 'digits': its task is classify$"
# no labels and no decoder.classes: indices, checked against the first output
expect classes/nolabels 0 "$T" run -m nolabels $C --classes 2 "$I"
records classes/nolabels/kept "$TMP/out" '[d["class"] for d in R[0]["detections"]] == [2]'
expect classes/nolabels-none 0 "$T" run -m nolabels $C --classes 0,1 "$I"
records classes/nolabels-none/empty "$TMP/out" 'R[0]["detections"] == []'
expect classes/nolabels-range 2 "$T" run -m nolabels $C --classes 0,5 "$I"
grep_in classes/nolabels-range/message "$TMP/err" "model 'nolabels': --classes: the model has no class 5 \(valid: indices 0 to 2\)"
expect classes/nolabels-label 2 "$T" run -m nolabels $C --classes person "$I"
grep_in classes/nolabels-label/message "$TMP/err" "has no class 'person' \(valid: indices only: the model has no labels\)"
