#!/bin/sh
# --optimize: the frozen (and optimize_for_inference) module gives the
# records the module as loaded gives; where libtorch's optimisation changes
# the output or refuses the module, tinfer falls back with one warning and
# the report says so; the option's values are checked.
. tests/cli/lib.sh

# se.pt: torchvision's SqueezeExcitation(72, 24) of MobileNetV3 alone, whose
# output libtorch 1.13's optimize_for_inference changes by ~2 at batch >= 2
# (freezing alone is exact).  routed.pt: picks a layer of a ModuleList by an
# index computed at run time, which freezing refuses ("prim::ModuleContainerIndex").
# (from a file: TorchScript reads the classes' source)
cat >"$TMP/make.py" <<'EOF'
import os, sys
import numpy as np
import torch
out = sys.argv[1]
torch.manual_seed(0)

class SE(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)
        self.fc1 = torch.nn.Conv2d(72, 24, 1)
        self.fc2 = torch.nn.Conv2d(24, 72, 1)
        self.activation = torch.nn.ReLU()
        self.scale_activation = torch.nn.Hardsigmoid()
    def forward(self, x):
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x

@torch.jit.interface
class Layer(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pass

class Scale(torch.nn.Module):
    def __init__(self, k: float):
        super().__init__()
        self.k = k
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.k

class Routed(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = torch.nn.ModuleList([Scale(2.0), Scale(3.0)])
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layer: Layer = self.layers[int(x.shape[0] > 100)]
        return layer.forward(x)

class Big(torch.nn.Module):
    """8 MiB of weights: [B, 64, 4, 4] -> (a 1x1 convolution when conv) -> [B, 2048]."""
    def __init__(self, conv: bool):
        super().__init__()
        self.conv = torch.nn.Conv2d(64, 64, 1) if conv else torch.nn.Identity()
        self.fc = torch.nn.Linear(1024, 2048)
    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))

torch.jit.script(Big(True).eval()).save(os.path.join(out, "bigconv.pt"))
torch.jit.script(Big(False).eval()).save(os.path.join(out, "bigmlp.pt"))
os.mkdir(os.path.join(out, "u"))
for i in range(12):
    np.save(os.path.join(out, "u", "x%d.npy" % i), np.random.RandomState(i).randn(64, 4, 4).astype(np.float32))
torch.jit.script(SE().eval()).save(os.path.join(out, "se.pt"))
torch.jit.script(Routed().eval()).save(os.path.join(out, "routed.pt"))
os.mkdir(os.path.join(out, "t"))
for i in range(8):
    np.save(os.path.join(out, "t", "x%d.npy" % i), np.random.RandomState(i).randn(72, 8, 8).astype(np.float32))
EOF
"$PY" "$TMP/make.py" "$TMP" || fail make-models "could not build the test models"

# same R (records of two files) within a relative tolerance: every raw output
# element, or every classify score, equal to 1e-4 of max(1, |value|).
same_records() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, sys
name, a, b = sys.argv[1:]
A = [json.loads(l) for l in open(a)]
B = [json.loads(l) for l in open(b)]
def vals(r):
    if "outputs" in r:
        return [x for o in r["outputs"] for x in o["data"]]
    return [t["index"] for t in r["top"]] + [t["score"] for t in r["top"]]
def flat(v):
    for x in v:
        if isinstance(x, list):
            yield from flat(x)
        else:
            yield x
bad = None
if len(A) != len(B) or not A:
    bad = "%d records against %d" % (len(A), len(B))
for x, y in zip(A, B):
    if bad:
        break
    if x["input"] != y["input"] or x["ok"] is not True or y["ok"] is not True:
        bad = "records differ: %r %r" % (x, y)
        break
    u, v = list(flat(vals(x))), list(flat(vals(y)))
    if len(u) != len(v) or any(abs(p - q) > 1e-4 * max(1.0, abs(p)) for p, q in zip(u, v)):
        bad = "%s: outputs differ" % x["input"]
print("PASS %s" % name if not bad else "FAIL %s: %s" % (name, bad))
PYEOF
}

# A real classifier: on and off give the same records; on says what ran.
expect digits-off 0 "$T" run -m digits -b 4 --optimize off --report "$TMP/off.json" "$DIGITS"
mv "$TMP/out" "$TMP/digits.off"
records digits-off-report "$TMP/off.json" \
	'R[0]["optimized"] is False and R[0]["optimize"] == {"mode": "off", "ran": "none", "why": "off (--optimize off)"}'
expect digits-on 0 "$T" run -m digits -b 4 --optimize on --report "$TMP/on.json" "$DIGITS"
mv "$TMP/out" "$TMP/digits.on"
empty digits-on-no-warning "$TMP/err"
same_records digits-on-same-records "$TMP/digits.off" "$TMP/digits.on"
records digits-on-report "$TMP/on.json" \
	'R[0]["optimized"] is True and R[0]["optimize"]["mode"] == "on" and R[0]["optimize"]["ran"] != "none" and R[0]["time_ms"]["optimize"] > 0'

# auto on one input: not worth it, and no time spent on it.
expect auto-short 0 "$T" run -m digits --report "$TMP/auto.json" "$DIGITS/d0_7.png"
records auto-short-report "$TMP/auto.json" \
	'R[0]["optimized"] is False and R[0]["optimize"]["mode"] == "auto" and "short" in R[0]["optimize"]["why"] and R[0]["time_ms"]["optimize"] == 0'

# optimize_for_inference breaks the SE block on 1.13: caught by the check,
# frozen alone runs, one warning; the records are the module's as loaded.
expect se-off 0 "$T" run -m "$TMP/se.pt" -b 4 --optimize off "$TMP/t"
mv "$TMP/out" "$TMP/se.off"
expect se-on 0 "$T" run -m "$TMP/se.pt" -b 4 --optimize on --report "$TMP/se.json" "$TMP/t"
mv "$TMP/out" "$TMP/se.on"
same_records se-on-same-records "$TMP/se.off" "$TMP/se.on"
n=$(grep -c -- '--optimize' "$TMP/err")
# on 1.13 the fallback is certain; a libtorch that optimises it right runs it optimised, silently
if grep -q '"libtorch":"1\.' "$TMP/se.json"; then
	records se-on-report "$TMP/se.json" \
		'R[0]["optimized"] is True and R[0]["optimize"]["ran"] == "frozen" and "optimize_for_inference changed the output" in R[0]["optimize"]["why"]'
	if [ "$n" -eq 1 ]; then pass se-on-one-warning; else fail se-on-one-warning "$n warnings: $(cat "$TMP/err")"; fi
	grep_in se-on-warning-says "$TMP/err" 'optimize_for_inference changed the output by [0-9.e+-]+ \(tolerance [0-9.e+-]+\): running the module frozen only'
else
	records se-on-report "$TMP/se.json" 'R[0]["optimized"] is True'
	if [ "$n" -le 1 ]; then pass se-on-one-warning; else fail se-on-one-warning "$n warnings: $(cat "$TMP/err")"; fi
fi
# auto says nothing on stderr about it, whatever it finds
expect se-auto-quiet 0 "$T" run -m "$TMP/se.pt" -b 4 "$TMP/t"
if grep -q -- '--optimize' "$TMP/err"; then fail se-auto-no-warning "$(cat "$TMP/err")"; else pass se-auto-no-warning; fi

# A module freezing refuses: the module as loaded runs, one warning.
expect routed-off 0 "$T" run -m "$TMP/routed.pt" -b 4 --optimize off "$TMP/t"
mv "$TMP/out" "$TMP/routed.off"
expect routed-on 0 "$T" run -m "$TMP/routed.pt" -b 4 --optimize on --report "$TMP/routed.json" "$TMP/t"
mv "$TMP/out" "$TMP/routed.on"
same_records routed-on-same-records "$TMP/routed.off" "$TMP/routed.on"
n=$(grep -c -- '--optimize' "$TMP/err")
if [ "$n" -eq 1 ]; then pass routed-one-warning; else fail routed-one-warning "$n warnings: $(cat "$TMP/err")"; fi
grep_in routed-warning-says "$TMP/err" 'freezing was refused \(.+\): running the module as loaded'
records routed-report "$TMP/routed.json" \
	'R[0]["optimized"] is False and R[0]["optimize"]["ran"] == "none" and R[0]["optimize"]["why"].startswith("not optimised: freezing was refused")'

# The option's values, and where it applies.
expect bad-value 2 "$T" run -m digits --optimize yes "$DIGITS"
grep_in bad-value-says "$TMP/err" "--optimize: 'yes' is not one of: auto on off"
expect bench-no 2 "$T" bench -m digits --optimize on
printf 'not a model\n' >"$TMP/notes.pt"
expect not-torchscript 3 "$T" run -m "$TMP/notes.pt" --task raw --optimize on "$TMP/t/x0.npy"

# What ran: --version and info name the libtorch the shim was built against
# without loading it; a run's report the one loaded, and its BLAS.
expect version 0 "$T" --version
grep_in version-built-against "$TMP/out" '^libtorch [0-9]+\.[0-9]+\.[0-9]+.* \(built against'
built=$(sed -n 's/^libtorch \([0-9.]*\).*/\1/p' "$TMP/out")
expect info-json 0 "$T" info -m digits --json
records info-built-against "$TMP/out" "R[0]['libtorch_built_against'] == '$built'"
records report-loaded "$TMP/on.json" \
	"R[0]['libtorch'].split('.')[:2] == '$built'.split('.')[:2] and isinstance(R[0]['blas'], str) and R[0]['blas']"

# auto on a small model and a long enough run: not worth it, said so
expect auto-small 0 "$T" run -m digits -b 2 --report "$TMP/small.json" "$DIGITS"
records auto-small-report "$TMP/small.json" \
	'R[0]["optimized"] is False and R[0]["optimize"]["why"].startswith("auto: a small model") and R[0]["time_ms"]["optimize"] == 0'

# auto on models of 8 MiB: optimised after the fifth batch of six when it
# has convolutions; not at all without (a transformer gains nothing)
expect auto-conv 0 "$T" run -m "$TMP/bigconv.pt" -b 2 --report "$TMP/bigconv.json" "$TMP/u"
mv "$TMP/out" "$TMP/bigconv.auto"
records auto-conv-report "$TMP/bigconv.json" \
	'R[0]["optimized"] is True and R[0]["optimize"]["mode"] == "auto" and R[0]["time_ms"]["optimize"] > 0'
expect auto-conv-off 0 "$T" run -m "$TMP/bigconv.pt" -b 2 --optimize off "$TMP/u"
same_records auto-conv-same-records "$TMP/out" "$TMP/bigconv.auto"
expect auto-mlp 0 "$T" run -m "$TMP/bigmlp.pt" -b 2 --report "$TMP/bigmlp.json" "$TMP/u"
records auto-mlp-report "$TMP/bigmlp.json" \
	'R[0]["optimized"] is False and "no convolutions" in R[0]["optimize"]["why"] and R[0]["time_ms"]["optimize"] == 0'
# the last batch is no time to start: five batches, nothing listed after
expect auto-last 0 "$T" run -m "$TMP/bigconv.pt" -b 2 --report "$TMP/last.json" \
	$(for i in 0 1 2 3 4 5 6 7 8 9; do echo "$TMP/u/x$i.npy"; done)
records auto-last-report "$TMP/last.json" 'R[0]["optimized"] is False and "short" in R[0]["optimize"]["why"]'
