// Runs an ONNX model in ONNX Runtime (onnxruntime-node) on raw arrays. Compiled into opsrl and
// driven by export/src/ort_runner.cpp (opsrl export --verify, the export tests, bench_export).
//
//   node ort_run.js DIR/request.json
//
// request.json: {"model": PATH, "threads": N, "warmup": N, "repeats": N,
//                "batches": [{"prefix": "b0_", "inputs": [{"name", "dtype", "shape", "file"}]}]}
// Writes into DIR, per batch and output, PREFIX + "out_" + NAME + ".bin" (raw little-endian), and
// response.txt, one record per line:
//   ort_version V | node_version V | load_ms X | inputs NAME... | outputs NAME...
//   output BATCH NAME DTYPE FILE DIM... | timing BATCH MS...
'use strict';
const fs = require('fs');
const path = require('path');

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  process.stderr.write(`cannot load onnxruntime-node (${e.message.split('\n')[0]})\n`);
  process.exit(3);
}

const kTyped = {float32: Float32Array, int32: Int32Array, uint8: Uint8Array, int64: BigInt64Array};

function tensorOf(dir, input) {
  const Typed = kTyped[input.dtype];
  if (!Typed) throw new Error(`input ${input.name}: unsupported dtype ${input.dtype}`);
  const bytes = fs.readFileSync(path.join(dir, input.file));
  // Copy into a fresh, aligned buffer (a Buffer may sit at any offset of a shared pool).
  const data = new Typed(bytes.byteLength / Typed.BYTES_PER_ELEMENT);
  new Uint8Array(data.buffer).set(bytes);
  return new ort.Tensor(input.dtype, data, input.shape);
}

function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

async function main() {
  const requestPath = process.argv[2];
  const dir = path.dirname(requestPath);
  const request = JSON.parse(fs.readFileSync(requestPath, 'utf8'));
  const start = nowMs();
  const session = await ort.InferenceSession.create(request.model, {
    intraOpNumThreads: request.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const lines = [
    `ort_version ${ort.env.versions.node || ort.env.versions.common}`,
    `node_version ${process.versions.node}`,
    `load_ms ${nowMs() - start}`,
    `inputs ${session.inputNames.join(' ')}`,
    `outputs ${session.outputNames.join(' ')}`,
  ];
  for (const [b, batch] of request.batches.entries()) {
    const feeds = {};
    for (const input of batch.inputs) feeds[input.name] = tensorOf(dir, input);
    for (let i = 0; i < request.warmup; ++i) await session.run(feeds);
    const times = [];
    let results;
    for (let i = 0; i < Math.max(1, request.repeats); ++i) {
      const t0 = nowMs();
      results = await session.run(feeds);
      times.push(nowMs() - t0);
    }
    for (const name of session.outputNames) {
      const t = results[name];
      const file = `${batch.prefix}out_${name}.bin`;
      fs.writeFileSync(path.join(dir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      lines.push(`output ${b} ${name} ${t.type} ${file} ${t.dims.join(' ')}`.trimEnd());
    }
    lines.push(`timing ${b} ${times.map((t) => t.toFixed(6)).join(' ')}`);
  }
  fs.writeFileSync(path.join(dir, 'response.txt'), lines.join('\n') + '\n');
}

main().catch((e) => {
  process.stderr.write(`${e && e.message ? e.message : String(e)}\n`);
  process.exit(2);
});
