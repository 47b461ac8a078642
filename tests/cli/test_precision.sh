# Precision honesty (issue 10): --dtype fp16|bf16 casts only floating-point
# parameters and buffers (an int64 index buffer survives); --half that falls
# back to bf16 converts from the fp32 weights once (fp32 -> bf16, never
# fp32 -> fp16 -> bf16); --half --autocast says what ran.  The model is
# made here with torch.jit.script (which needs its source in a file).
. tests/cli/lib.sh

cat >"$TMP/mk.py" <<'PYEOF'
import sys, torch
class Idx(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3, bias=False)
        with torch.no_grad():
            # 1 + 3/256 - 2**-20: bf16 of it is 1 + 2/256; its fp16 is
            # 1 + 3/256, whose bf16 (a tie, to even) is 1 + 4/256
            self.lin.weight.fill_(1 + 3 / 256 - 2 ** -20)
        self.register_buffer("order", torch.tensor([2, 0, 1], dtype=torch.int64))
        # 2**40 + 1 is exact only as an integer: inf in fp16, 2**40 in bf16
        self.register_buffer("big", torch.tensor([2 ** 40 + 1], dtype=torch.int64))
    def forward(self, x):
        y = self.lin(x.to(self.lin.weight.dtype)).index_select(1, self.order).float()
        return torch.cat([y, (self.big - 2 ** 40).float().expand(y.shape[0], 1)], 1)
torch.jit.script(Idx()).save(sys.argv[1])
PYEOF
"$PY" "$TMP/mk.py" "$TMP/idx.pt" || fail make-model "torch.jit.script failed"
"$PY" -c "import numpy as np; np.save('$TMP/x.npy', np.array([1, 0, 0, 0], np.float32))"

# fp32: the reference; the index buffer picks the columns, big - 2**40 == 1
expect fp32 0 "$T" run -m "$TMP/idx.pt" --task raw "$TMP/x.npy"
records fp32/values "$TMP/out" 'R[0]["outputs"][0]["data"][3] == 1.0 and R[0]["outputs"][0]["data"][0] != 1.0078125'

# bf16: the index buffer stays int64 (today: "Expected dtype int32 or int64 for index")
expect bf16/int64-buffer-survives 0 "$T" run -m "$TMP/idx.pt" --task raw --dtype bf16 --report "$TMP/bf16.json" "$TMP/x.npy"
records bf16/values "$TMP/out" 'R[0]["ok"] and R[0]["outputs"][0]["data"] == [1.0078125, 1.0078125, 1.0078125, 1.0]'
records bf16/report "$TMP/bf16.json" 'R[0]["dtype"] == "bf16" and R[0]["fallback"] is None and R[0]["autocast_dtype"] is None'

# fp16: runs in fp16 where the CPU has the kernels (libtorch 2.x), else falls
# back to bf16 converted from the fp32 weights: the same numbers as --dtype bf16
expect fp16/int64-buffer-survives 0 "$T" run -m "$TMP/idx.pt" --task raw --half --report "$TMP/fp16.json" "$TMP/x.npy"
if "$PY" -c 'import json,sys; sys.exit(json.load(open(sys.argv[1]))["dtype"] != "bf16")' "$TMP/fp16.json"; then
	records fp16/fell-back "$TMP/fp16.json" 'R[0]["dtype_requested"] == "fp16" and R[0]["fallback"] == "fp16 kernels missing on cpu"'
	records fp16/bf16-from-fp32-once "$TMP/out" 'R[0]["outputs"][0]["data"] == [1.0078125, 1.0078125, 1.0078125, 1.0]'
else
	records fp16/ran "$TMP/fp16.json" 'R[0]["dtype"] == "fp16" and R[0]["fallback"] is None'
	records fp16/values "$TMP/out" 'R[0]["outputs"][0]["data"] == [1.01171875, 1.01171875, 1.01171875, 1.0]'
fi

# --half --autocast on the CPU: autocast computes in bf16 from the fp16 weights;
# the report says both, and no fallback
expect half-autocast 0 "$T" run -m "$TMP/idx.pt" --task raw --half --autocast --report "$TMP/ha.json" "$TMP/x.npy"
records half-autocast/report "$TMP/ha.json" \
	'R[0]["autocast"] is True and R[0]["autocast_dtype"] == ("fp16" if R[0]["device"].startswith("cuda") else "bf16") and R[0]["dtype"] == "fp16"'
records half-autocast/values "$TMP/out" 'R[0]["ok"] and R[0]["outputs"][0]["data"][3] == 1.0'
expect fp32-autocast 0 "$T" run -m "$TMP/idx.pt" --task raw --autocast --report "$TMP/a.json" "$TMP/x.npy"
records fp32-autocast/report "$TMP/a.json" 'R[0]["dtype"] == "fp32" and R[0]["autocast_dtype"] in ("bf16", "fp16")'
expect no-autocast 0 "$T" run -m "$TMP/idx.pt" --task raw --report "$TMP/n.json" "$TMP/x.npy"
records no-autocast/report "$TMP/n.json" 'R[0]["autocast"] is False and R[0]["autocast_dtype"] is None'
