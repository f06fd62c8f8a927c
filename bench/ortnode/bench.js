// Times an ONNX model with onnxruntime-node on the inputs bench/ortnode/mkraw
// wrote, with srarena's robust protocol and session settings, and prints a
// JSON line {"runtime_ms": mean over images of the median of the timed runs,
// "images": [...]} comparable to `srarena eval --json`'s runtime_ms.
//
//   node bench/ortnode/bench.js MODEL.onnx RAW_DIR [--threads N] [--warmup W]
//                               [--repeats R] [--prealloc]
//
// Session options as srarena's child sets them (runner/sandbox child.go):
// intra-op threads N, inter-op 1, sequential execution, all graph
// optimisations. Each run is timed around session.run (what a Node user
// measures: the binding's output conversion is inside, as it was inside
// srarena's window before outputs were preallocated). --prealloc passes a
// preallocated output tensor instead, as srarena's child does.
'use strict';
const fs = require('fs');
const path = require('path');
const ort = require(process.env.ORTNODE_MODULE ||
  path.resolve(__dirname, '../../.cache/ortnode/node_modules/onnxruntime-node'));

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
}

async function main() {
  const [model, rawDir] = process.argv.slice(2, 4);
  const threads = arg('--threads', require('os').availableParallelism());
  const warmup = arg('--warmup', 1);
  const repeats = arg('--repeats', 3);
  const prealloc = process.argv.includes('--prealloc');
  const session = await ort.InferenceSession.create(model, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const [inName] = session.inputNames;
  const [outName] = session.outputNames;
  const files = fs.readdirSync(rawDir).filter((f) => f.endsWith('.f32')).sort();
  const images = [];
  for (const f of files) {
    const buf = fs.readFileSync(path.join(rawDir, f));
    const h = buf.readUInt32LE(0);
    const w = buf.readUInt32LE(4);
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 8, buf.byteOffset + 8 + 12 * h * w));
    const feeds = { [inName]: new ort.Tensor('float32', data, [1, 3, h, w]) };
    let fetches;
    if (prealloc) {
      const s = 4; // ×4 models
      fetches = { [outName]: new ort.Tensor('float32', new Float32Array(3 * s * h * s * w), [1, 3, s * h, s * w]) };
    }
    const runs = [];
    for (let r = 0; r < warmup + repeats; r++) {
      const t0 = process.hrtime.bigint();
      const out = fetches ? await session.run(feeds, fetches) : await session.run(feeds);
      const dt = Number(process.hrtime.bigint() - t0) / 1e6;
      if (!out[outName]) throw new Error('no output');
      if (r >= warmup) runs.push(dt);
    }
    const s = [...runs].sort((a, b) => a - b);
    const med = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    images.push({ name: f.replace(/\.f32$/, ''), runtime_ms: med, runs_ms: runs });
  }
  const mean = images.reduce((a, im) => a + im.runtime_ms, 0) / images.length;
  console.log(JSON.stringify({ runtime_ms: mean, threads, warmup, repeats, prealloc, ort_version: ort.env.versions ? ort.env.versions.common : undefined, images }));
}

main().catch((e) => { console.error(e); process.exit(1); });
