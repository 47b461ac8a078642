#!/usr/bin/env node
// Reference outputs of face-api's own FaceExpressionNet and FaceRecognitionNet
// (JavaScript, TF.js) for face crops, to check the `expressions` and `faceid`
// sample models (samples/make_faceapi_nets.py) against the original.
//
// Set-up, once (Node 20; npm resolves these from the registry, nothing is
// downloaded at run time; face-api.node-wasm.js needs @tensorflow/tfjs and
// @tensorflow/tfjs-backend-wasm, and this script uses tfjs's pure-JS "cpu"
// backend; face-api.node.js would need tfjs-node's native download):
//
//   mkdir -p /tmp/face-api-node && cd /tmp/face-api-node && npm init -y >/dev/null &&
//     npm install --no-audit --no-fund @vladmandic/face-api@1.7.15 \
//       @tensorflow/tfjs@4.22.0 @tensorflow/tfjs-backend-wasm@4.22.0 pngjs@7.0.0
//
// (4.22.0 is the tfjs that face-api 1.7.15 was built with: dist/tfjs.version.js.)
// Usage, from the repository root:
//
//   node samples/faceapi_reference.mjs CROPS.json > OUT.json
//   FACEAPI_NODE=/other/folder node samples/faceapi_reference.mjs CROPS.json
//
// CROPS.json is {"crops": [{"name", "image", "region": [X0, Y0, X1, Y1], ...}]}
// with `image` a path relative to the repository root (the current folder)
// or "skimage:NAME" for /usr/lib/python3/dist-packages/skimage/data/NAME.
// Images are PNG only, decoded with pngjs (8-bit; gray replicated to RGB,
// alpha dropped: the same pixels as tinfer's libpng path). The crop is the
// decoded image tensor sliced at the integer region (rows Y0..Y1-1, columns
// X0..X1-1), exactly what tinfer cuts; face-api then does its own
// preprocessing (NetInput.toBatchTensor: pad to square centred with 0,
// tf.image.resizeBilinear without half-pixel centres, minus meanRgb, / 255).
//
// Output: the same object, each crop gaining
//   "expressions": 7 probabilities in face-api's order (neutral, happy, sad,
//                  angry, fearful, disgusted, surprised), from predictExpressions;
//   "descriptor":  the 128-d descriptor from computeFaceDescriptor;
//   "letterbox":   {"expressions", "descriptor"} of the same nets fed the crop
//                  preprocessed as tinfer's manifest says instead (SPEC §3
//                  letterbox: half-pixel bilinear resize to round(w·r) x
//                  round(h·r), then zero padding centred, ultralytics' split);
//                  the input is then already square and of the net's size, so
//                  face-api neither pads nor resizes it. This isolates the
//                  port of the networks from the difference in preprocessing.
// Face-api's models are loaded from FACEAPI_NODE/node_modules/@vladmandic/face-api/model
// with the nets' own loadFromDisk.

import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';

const NODE_DIR = process.env.FACEAPI_NODE || '/tmp/face-api-node';
const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const require = createRequire(path.join(NODE_DIR, 'package.json'));
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
const { PNG } = require('pngjs');
const { tf } = faceapi;

function roundHalfEven(x) {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

function decodePng(file) {
  const buf = fs.readFileSync(file);
  if (buf.readUInt32BE(0) !== 0x89504e47) throw new Error(`${file}: not a PNG (this script reads PNG only)`);
  const png = PNG.sync.read(buf);            // RGBA, 8 bits, gray replicated
  if (png.depth !== 8) throw new Error(`${file}: ${png.depth}-bit PNG, only 8-bit is supported here`);
  const { width, height, data } = png;
  const rgb = new Int32Array(width * height * 3);
  for (let i = 0, j = 0; i < width * height * 4; i += 4, j += 3) {
    rgb[j] = data[i]; rgb[j + 1] = data[i + 1]; rgb[j + 2] = data[i + 2];
  }
  return tf.tensor3d(rgb, [height, width, 3], 'int32');
}

// SPEC §3 letterbox (align center, pad 0) of a [h, w, 3] tensor to [1, S, S, 3] float32.
function letterbox(crop, S) {
  return tf.tidy(() => {
    const [h, w] = crop.shape;
    const r = Math.min(S / h, S / w);
    const nw = roundHalfEven(w * r);
    const nh = roundHalfEven(h * r);
    const left = roundHalfEven((S - nw) / 2 - 0.1);
    const top = roundHalfEven((S - nh) / 2 - 0.1);
    let x = tf.expandDims(tf.cast(crop, 'float32'));
    if (nh !== h || nw !== w) x = tf.image.resizeBilinear(x, [nh, nw], false, true);
    return tf.pad(x, [[0, 0], [top, S - nh - top], [left, S - nw - left], [0, 0]], 0);
  });
}

async function run(net, input, kind) {
  if (kind === 'expressions') {
    const e = await net.predictExpressions(input);
    return faceapi.FACE_EXPRESSION_LABELS.map((k) => e[k]);
  }
  return Array.from(await net.computeFaceDescriptor(input));
}

async function main() {
  const crops = JSON.parse(fs.readFileSync(process.argv[2] || '/dev/stdin', 'utf8'));
  await tf.setBackend('cpu');
  await tf.ready();
  const modelDir = path.join(NODE_DIR, 'node_modules/@vladmandic/face-api/model');
  const exprNet = faceapi.nets.faceExpressionNet;
  const recNet = faceapi.nets.faceRecognitionNet;
  await exprNet.loadFromDisk(modelDir);
  await recNet.loadFromDisk(modelDir);
  const images = new Map();
  for (const c of crops.crops) {
    const file = c.image.startsWith('skimage:') ? path.join(SKIMAGE, c.image.slice(8)) : c.image;
    if (!images.has(file)) images.set(file, decodePng(file));
    const img = images.get(file);
    const [x0, y0, x1, y1] = c.region;
    const crop = tf.slice3d(img, [y0, x0, 0], [y1 - y0, x1 - x0, 3]);
    c.expressions = await run(exprNet, crop, 'expressions');
    c.descriptor = await run(recNet, crop, 'descriptor');
    const lb112 = letterbox(crop, 112);
    const lb150 = letterbox(crop, 150);
    c.letterbox = {
      expressions: await run(exprNet, lb112, 'expressions'),
      descriptor: await run(recNet, lb150, 'descriptor'),
    };
    tf.dispose([crop, lb112, lb150]);
    process.stderr.write(`${c.name}: ${faceapi.FACE_EXPRESSION_LABELS[c.expressions.indexOf(Math.max(...c.expressions))]}\n`);
  }
  images.forEach((t) => t.dispose());
  crops.faceapi = {
    package: `@vladmandic/face-api ${faceapi.version}`,
    tfjs: tf.version_core,
    backend: tf.getBackend(),
    node: process.version,
  };
  process.stdout.write(`${JSON.stringify(crops, null, 1)}\n`);
}

main().catch((e) => { console.error(e); process.exit(1); });
