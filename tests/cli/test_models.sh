# Models: manifest names and paths, sidecar FILE.json, ultralytics
# config.txt, info and models, the raw and embed tasks on .npy tensors,
# --save-dir, precision switches, and model errors (exit 3).
. tests/cli/lib.sh

"$PY" tests/cli/make_models.py "$TMP" || fail make-models "could not build the test models"
cd "$TMP" || exit 1

# models / info read metadata only
expect models 0 "$T" models --models "$SAMPLES/models.json"
grep_in models/lists-digits "$TMP/out" '^digits +classify '
expect models-json 0 "$T" models --json --models "$SAMPLES/models.json"
records models-json/parse "$TMP/out" 'R[0]["models"][0]["name"] == "digits" and R[0]["manifest"].endswith("models.json")'
expect models-missing-manifest 3 "$T" models --models "$TMP/nope.json"
printf '{"models": [1,2]}' >"$TMP/badm.json"
expect models-bad-manifest 3 "$T" models --models "$TMP/badm.json"
grep_in models-bad-manifest/message "$TMP/err" 'no "models" object'
printf '{"models": {' >"$TMP/brokenm.json"
expect models-broken-json 3 "$T" models --models "$TMP/brokenm.json"
grep_in models-broken-json/line "$TMP/err" 'line 1'

expect info-json 0 "$T" info --json -m "$SAMPLES/models/mnist.pt"
"$PY" - "$TMP/out" "$SAMPLES/models/mnist.pt" <<'PYEOF'
import json, sys, zipfile
info = json.load(open(sys.argv[1]))
z = zipfile.ZipFile(sys.argv[2])
want = sum(i.file_size for i in z.infolist() if "/data/" in i.filename and not i.filename.endswith("/"))
ok = info["weight_bytes"] == want and info["memory_bytes"]["fp16"] * 2 == info["memory_bytes"]["fp32"]
print("PASS info/weight-bytes-match-zip" if ok else f"FAIL info/weight-bytes-match-zip: {info['weight_bytes']} vs {want}")
ok = info["model"] == "digits" and info["task"] == "classify"
print("PASS info/path-finds-manifest-entry" if ok else f"FAIL info/path-finds-manifest-entry: {info}")
PYEOF
expect info-human 0 "$T" info -m digits
grep_in info/human "$TMP/out" '^weights: .* in [0-9]+ records'
expect info-config-txt 0 "$T" info --json -m "$TMP/ucls.pt"
records info/extra-files "$TMP/out" 'R[0]["extra_files"] == ["config.txt"] and R[0]["source"] == "config.txt"'

# model errors: exit 3, before libtorch for what metadata can tell
expect unknown-model 3 "$T" run -m no-such "$DIGITS/d0_7.png"
grep_in unknown-model/message "$TMP/err" "no model 'no-such'"
empty unknown-model/no-stdout "$TMP/out"
expect missing-file 3 "$T" run -m "$TMP/absent.pt" "$DIGITS/d0_7.png"
echo "not a model" >"$TMP/fake.pt"
expect not-torchscript 3 "$T" run -m "$TMP/fake.pt" "$TMP/a.npy"
grep_in not-torchscript/message "$TMP/err" 'not a TorchScript archive'
# an output the task cannot read: the run stops at the first batch (its
# inputs get "not run" records), and the report counts what got none
expect wrong-output 3 "$T" run -m "$TMP/badcls.pt" --task classify --report "$TMP/wrong.json" "$TMP/a.npy" "$TMP/b.npy" "$TMP/c.npy"
records wrong-output/first-batch-records "$TMP/out" \
	'1 <= len(R) <= 3 and not any(r["ok"] for r in R) and all("not run" in r["error"] for r in R)'
grep_in wrong-output/message "$TMP/err" 'task classify wants'
records wrong-output/report "$TMP/wrong.json" \
	'R[0]["error"] and "task classify wants" in R[0]["error"] and R[0]["records"] + R[0]["not_run"] <= 3 and R[0]["ok"] == 0'

# raw: dict/tuple outputs, batch axis sliced, leaves named by path
expect raw 0 "$T" run -m "$TMP/raw.pt" -b 2 "$TMP/a.npy" "$TMP/b.npy" "$TMP/c.npy"
records raw/names "$TMP/out" '[o["name"] for o in R[0]["outputs"]] == ["sum", "pair.0", "pair.1"]'
records raw/sliced "$TMP/out" \
	'R[0]["outputs"][0]["data"] == [15.0] and R[1]["outputs"][0]["data"] == [6.0] and R[2]["outputs"][0]["data"] == [12.0]'
records raw/shape-dtype "$TMP/out" \
	'R[0]["outputs"][1]["shape"] == [2, 3] and R[0]["outputs"][1]["dtype"] == "float32" and R[2]["outputs"][1]["shape"] == [4, 3]'
records raw/data-c-order "$TMP/out" 'R[0]["outputs"][1]["data"] == [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]'
expect raw-save-dir 0 "$T" run -m "$TMP/raw.pt" --save-dir "$TMP/saved" "$TMP/a.npy"
records raw-save-dir/file-not-data "$TMP/out" \
	'"data" not in R[0]["outputs"][1] and R[0]["outputs"][1]["file"].endswith("000000_a.pair.0.npy")'
"$PY" -c "
import numpy as np, sys
a = np.load('$TMP/saved/000000_a.pair.0.npy')
print('PASS save-dir/npy-roundtrip' if a.shape == (2, 3) and a.dtype == np.float32 and a[1, 2] == 10.0
      else f'FAIL save-dir/npy-roundtrip: {a!r}')"

# int64 token ids (how text models are fed), embed task by --task
expect ids-embed 0 "$T" run -m "$TMP/ints.pt" --task embed -b 3 "$TMP/ids0.npy" "$TMP/ids1.npy" "$TMP/ids2.npy"
records ids-embed/dims "$TMP/out" 'len(R) == 3 and all(r["dim"] == 4 and len(r["embedding"]) == 4 for r in R)'
"$PY" - "$TMP" <<'PYEOF'
import json, sys, torch, numpy as np
d = sys.argv[1]
m = torch.jit.load(f"{d}/ints.pt")
R = [json.loads(l) for l in open(f"{d}/out")]
want = m(torch.stack([torch.from_numpy(np.load(f"{d}/ids{i}.npy")) for i in range(3)])).detach().numpy()
err = max(abs(a - b) for r, row in zip(R, want) for a, b in zip(r["embedding"], row))
print("PASS ids-embed/parity" if err < 1e-6 else f"FAIL ids-embed/parity: {err}")
PYEOF
# image inputs need an image description
expect raw-image-without-input 1 "$T" run -m "$TMP/raw.pt" "$DIGITS/d0_7.png"
records raw-image-without-input/reason "$TMP/out" '"no image input description" in R[0]["error"]'

# a path with no manifest entry: sidecar FILE.json, then config.txt
expect sidecar 0 "$T" run -m "$TMP/side.pt" "$DIGITS/d0_7.png"
records sidecar/labels-and-task "$TMP/out" 'R[0]["task"] == "classify" and R[0]["top"][0]["label"] in "xyz"'
expect ultralytics-config 0 "$T" run -m "$TMP/ucls.pt" "$DIGITS/d5_9.png"
records ultralytics-config/names "$TMP/out" \
	'R[0]["task"] == "classify" and {t["label"] for t in R[0]["top"]} == {"cat", "dog", "eel"}'
records ultralytics-config/probs-kept "$TMP/out" 'abs(sum(t["score"] for t in R[0]["top"]) - 1) < 1e-4'
# a manifest name wins; the manifest in the working directory is found
cp "$SAMPLES/models.json" "$TMP/models.json"
sed -i "s|models/mnist.pt|$SAMPLES/models/mnist.pt|; s|labels/digits.txt|$SAMPLES/labels/digits.txt|" "$TMP/models.json"
sed -i 's|"digits"|"mine"|' "$TMP/models.json"
expect cwd-manifest 0 "$T" run -m mine "$DIGITS/d0_7.png"
records cwd-manifest/used "$TMP/out" 'R[0]["top"][0]["label"] == "7"'
TINFER_MODELS="$SAMPLES/models.json" "$T" run -m digits "$DIGITS/d0_7.png" >"$TMP/out" 2>"$TMP/err"
records env-manifest "$TMP/out" 'R[0]["ok"]'
rm "$TMP/models.json"

# precision: --half runs fp16 where the CPU libtorch has fp16 kernels (2.x),
# else (Debian's 1.13: no fp16 convolution) warns once and falls back along
# the chain fp16 -> bf16 -> fp32; the report says what ran, and a fallback is
# reported exactly when what ran is not what was asked for.
expect half-fallback 0 "$T" run -m digits --half --report "$TMP/rep.json" -b 4 "$DIGITS"
records half-fallback/report "$TMP/rep.json" \
	'(R[0]["dtype_requested"] == "fp16" and R[0]["dtype"] in ("fp16", "bf16", "fp32") and
	  (R[0]["fallback"] is not None) == (R[0]["dtype"] != "fp16") and "fp16" in (R[0]["fallback"] or "fp16"))'
records half-fallback/all-records "$TMP/out" 'len(R) == 12 and all(r["ok"] for r in R)'
records half-fallback/still-right "$TMP/out" \
	'sum(r["top"][0]["label"] == r["input"].rsplit("_",1)[1][0] for r in R) >= 11'
"$T" run -m digits --half -b 4 --report "$TMP/rep2.json" "$DIGITS" 2>&1 >/dev/null | grep -c 'warning: fp16 kernels missing' >"$TMP/n"
want=$("$PY" -c 'import json, sys; print(int(json.load(open(sys.argv[1]))["dtype"] != "fp16"))' "$TMP/rep2.json" 2>&1)
[ "$(cat "$TMP/n")" = "$want" ] && pass half-fallback/warned-once-iff-fell-back ||
	fail half-fallback/warned-once-iff-fell-back "$(cat "$TMP/n") warnings, wanted $want"
expect bf16 0 "$T" run -m digits --dtype bf16 --report "$TMP/rep.json" "$DIGITS/d0_7.png"
records bf16/ran "$TMP/rep.json" 'R[0]["dtype"] in ("bf16", "fp32") and R[0]["dtype_requested"] == "bf16"'
records bf16/result "$TMP/out" 'R[0]["top"][0]["label"] == "7"'
expect autocast 0 "$T" run -m digits --autocast --report "$TMP/rep.json" "$DIGITS/d0_7.png"
records autocast/result "$TMP/out" 'R[0]["top"][0]["label"] == "7"'
records autocast/reported "$TMP/rep.json" 'R[0]["autocast_requested"] is True'
# -d cuda: runs where libtorch sees a CUDA device, else a usage error (exit 2)
if has_cuda; then
	expect cuda 0 "$T" run -m digits -d cuda --report "$TMP/cuda.json" "$DIGITS/d0_7.png"
	records cuda/report "$TMP/cuda.json" 'R[0]["device"] == "cuda:0" and R[0]["vram_bytes"]["load_peak"] > 0'
else
	expect no-cuda 2 "$T" run -m digits -d cuda "$DIGITS/d0_7.png"
	grep_in no-cuda/message "$TMP/err" 'no such CUDA device|has no CUDA'
fi
grep_in no-cuda/message "$TMP/err" 'cuda'
