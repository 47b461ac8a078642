"""Accuracy of the sample digits classifier measured through tinfer on the
held-out real MNIST digits (never seen in training): at least 97%."""
import os
import shutil
import sys
import tempfile

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, check, done, tinfer  # noqa: E402

x = np.load(os.path.join(ROOT, "samples/data/mnist-holdout.npy"))
y = np.load(os.path.join(ROOT, "samples/data/mnist-holdout-labels.npy"))
check(len(x) >= 1000 and len(x) == len(y), "holdout/size", f"{len(x)} digits, {len(y)} labels")
tmp = tempfile.mkdtemp(prefix="tinfer-acc-")
for i, img in enumerate(x):
    Image.fromarray(img).save(os.path.join(tmp, f"{i:05d}.png"))
recs, rc, err = tinfer("run", "-m", "digits", "--models", os.path.join(ROOT, "samples/models.json"),
                       "-b", "64", "-q", tmp)
check(rc == 0, "holdout/exit", f"status {rc}: {err}")
check(len(recs) == len(x), "holdout/one-record-each", f"{len(recs)} records for {len(x)} digits")
check([r["input"] for r in recs] == sorted(r["input"] for r in recs), "holdout/input-order", "not sorted")
correct = sum(1 for r, label in zip(recs, y) if r.get("ok") and r["top"][0]["label"] == str(int(label)))
acc = correct / max(len(x), 1)
print(f"# held-out accuracy through tinfer: {acc:.4f} ({correct}/{len(x)})")
check(acc >= 0.97, "holdout/accuracy>=0.97", f"{acc:.4f}")
shutil.rmtree(tmp)
done()
