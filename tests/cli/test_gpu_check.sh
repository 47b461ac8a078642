# tools/gpu-check --cpu: the accelerator flow of issue 17 run on the CPU, so
# that it cannot rot between accelerator sessions.  Checks the JSON it writes:
# the fields the issue names, device figures null on the CPU, the others
# measured.  No figure is compared with its target here (a shared machine).
. tests/cli/lib.sh
BUILD=${BUILD:-build}
PYTHON=$PY BUILD=$BUILD tools/gpu-check --cpu --out "$TMP/g.json" >"$TMP/out" 2>"$TMP/err"
st=$?
[ $st -eq 0 ] && pass gpu-check/exit-0 || fail gpu-check/exit-0 "exit $st: $(tail -n 5 "$TMP/err")"
# one line, as records reads it
"$PY" -c 'import json, sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$TMP/g.json" >"$TMP/g1.json"
records gpu-check/fields "$TMP/g1.json" '(
set(R[0]) >= {"gpu", "torch", "raw", "figures", "date", "device", "mode"} and
set(R[0]["figures"]) == {"vram_ratio_vs_torch_max_dev", "half_vram_ratio_load", "half_vram_ratio_inference",
  "load_rss_excess_in_largest_tensors", "throughput_ratio_b32", "max_vram_below_weights_exit", "max_vram_run_ok"})'
records gpu-check/cpu-device-figures-null "$TMP/g1.json" '(
R[0]["mode"] == "cpu" and R[0]["gpu"] is None and all(R[0]["figures"][k] is None for k in
  ("vram_ratio_vs_torch_max_dev", "half_vram_ratio_load", "half_vram_ratio_inference",
   "max_vram_below_weights_exit", "max_vram_run_ok")))'
records gpu-check/measured "$TMP/g1.json" '(
R[0]["figures"]["throughput_ratio_b32"] > 0 and R[0]["raw"]["python"]["b32"]["images_per_s"] > 0 and
R[0]["raw"]["tinfer"]["one_image_ram_peak"] > 0 and R[0]["torch"] and R[0]["notes"] is not None)'
records gpu-check/half-ran "$TMP/g1.json" '(
R[0]["raw"]["tinfer"]["half_b32"]["dtype"] in ("fp16", "bf16", "fp32"))'
records gpu-check/max-vram-refused-on-cpu "$TMP/g1.json" '(
R[0]["raw"]["max_vram"]["cpu_exit"] == 2 and "CUDA devices only" in R[0]["raw"]["max_vram"]["cpu_message"])'
records gpu-check/no-note-of-failure "$TMP/g1.json" 'not [n for n in R[0]["notes"] if "exit" in n]'
