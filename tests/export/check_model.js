// An exported policy as a consumer outside opsrl sees it, in ONNX Runtime (onnxruntime-node):
// its metadata (read from the file), its declared inputs and outputs, runs over several batch
// sizes, token counts and mask widths, masks honoured, wrong input types refused.
//
//   node check_model.js MODEL.onnx [RUN_ID]      prints "check_model: ok" or exits non-zero
'use strict';
const assert = require('assert');
const path = require('path');
const ort = require('onnxruntime-node');
const {readMetadata} = require(path.join(__dirname, '..', '..', 'examples', 'onnx', 'onnx_metadata.js'));

const kMasked = -1e9;
const [modelPath, runId] = process.argv.slice(2);

function randomInputs(B, T, F, maskWidth, seed) {
  let s = seed >>> 0;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const features = new Float32Array(B * T * F).map(() => (rand() - 0.5) * 6);
  const tokenType = new Int32Array(B * T);
  const valid = new Uint8Array(B * T);
  const links = new Int32Array(B * T * 2).fill(-1);
  for (let b = 0; b < B; ++b) {
    const real = 1 + Math.floor(rand() * T);
    for (let t = 0; t < T; ++t) {
      tokenType[b * T + t] = t === 0 ? 0 : t < real ? 1 + Math.floor(rand() * 3) : 4;
      valid[b * T + t] = t < real ? 1 : 0;
      if (tokenType[b * T + t] === 3) links[(b * T + t) * 2] = Math.floor(rand() * real);
    }
  }
  const taskId = new Int32Array(B).map(() => (maskWidth === 5 * T ? 1 : Math.floor(rand() * 2)));
  const mask = new Uint8Array(B * maskWidth).map(() => (rand() < 0.5 ? 1 : 0));
  return {
    features: new ort.Tensor('float32', features, [B, T, F]),
    token_type: new ort.Tensor('int32', tokenType, [B, T]),
    valid: new ort.Tensor('uint8', valid, [B, T]),
    links: new ort.Tensor('int32', links, [B, T, 2]),
    task_id: new ort.Tensor('int32', taskId, [B]),
    action_mask: new ort.Tensor('uint8', mask, [B, maskWidth]),
  };
}

async function main() {
  // ---- metadata, as any consumer reads it ----
  const meta = readMetadata(modelPath);
  assert.strictEqual(meta['opsrl.format'], 'opsrl-policy-onnx 1');
  assert.match(meta['opsrl.version'], /^\d+\.\d+\.\d+$/);
  if (runId) assert.strictEqual(meta['opsrl.run_id'], runId);
  const schema = JSON.parse(meta['opsrl.observation_schema']);
  const vocab = JSON.parse(meta['opsrl.action_vocabulary']);
  const outputs = JSON.parse(meta['opsrl.outputs']);
  const policy = JSON.parse(meta['opsrl.policy']);
  if (meta['opsrl.checkpoint']) assert.ok(JSON.parse(meta['opsrl.checkpoint']).file);
  assert.deepStrictEqual(schema.inputs.map((i) => i.name),
                         ['features', 'token_type', 'valid', 'links', 'task_id', 'action_mask']);
  assert.deepStrictEqual(schema.inputs[0].shape, ['batch', 'tokens', policy.feature_width]);
  assert.strictEqual(vocab.verbs.length, 11);
  assert.strictEqual(vocab.verbs[0].name, 'noop');
  assert.strictEqual(vocab.diag_types.length, 10);
  assert.strictEqual(vocab.diag_types[0].name, 'none');
  assert.deepStrictEqual(vocab.delta, ['keep', 'scale_in', 'scale_out']);
  assert.deepStrictEqual(vocab.move, ['stay', 'migrate']);
  assert.strictEqual(outputs.masked_logit, kMasked);

  // ---- the session's view of the interface ----
  const session = await ort.InferenceSession.create(modelPath, {intraOpNumThreads: 1});
  assert.deepStrictEqual(session.inputNames, ['features', 'token_type', 'valid', 'links', 'task_id', 'action_mask']);
  assert.deepStrictEqual(session.outputNames, ['verb', 'target', 'diag_type', 'diag_target', 'delta', 'move', 'value']);
  if (session.inputMetadata && session.inputMetadata.length) {
    const types = session.inputMetadata.map((m) => m.type);
    assert.deepStrictEqual(types, ['float32', 'int32', 'uint8', 'int32', 'int32', 'uint8']);
    assert.deepStrictEqual(session.inputMetadata[0].shape, ['batch', 'tokens', policy.feature_width]);
  }

  // ---- dynamic batch, tokens and mask width; masks applied ----
  const F = policy.feature_width;
  const cases = [[1, 1, 21 * 1 + 21], [5, 3, 21 * 3 + 21], [2, 20, 5 * 20], [7, 33, 21 * 33 + 21]];
  for (const [k, [B, T, M]] of cases.entries()) {
    const feeds = randomInputs(B, T, F, M, 17 + k);
    const out = await session.run(feeds);
    const expect = {verb: [B, 11], target: [B, 11, T], diag_type: [B, 10], diag_target: [B, 10, T],
                    delta: [B, T, 3], move: [B, T, 2], value: [B]};
    for (const [name, dims] of Object.entries(expect)) {
      assert.deepStrictEqual(Array.from(out[name].dims), dims, `${name} at B=${B} T=${T}`);
      assert.ok(out[name].data.every((x) => Number.isFinite(x)), `${name}: finite`);
    }
    const allowed = (b, m) => m < M && feeds.action_mask.data[b * M + m] === 1;
    for (let b = 0; b < B; ++b) {
      for (let v = 0; v < 11; ++v) assert.strictEqual(out.verb.data[b * 11 + v] === kMasked, !allowed(b, v));
      for (let t = 0; t < T; ++t)
        for (let c = 0; c < 3; ++c)
          assert.strictEqual(out.delta.data[(b * T + t) * 3 + c] === kMasked, !allowed(b, t * 3 + c));
    }
  }

  // ---- the declared types are enforced ----
  const wrong = randomInputs(1, 4, F, 21 * 4 + 21, 3);
  wrong.token_type = new ort.Tensor('float32', new Float32Array(4), [1, 4]);
  await assert.rejects(session.run(wrong), /type|data/i);
  console.log(`check_model: ok (${path.basename(modelPath)}, ${cases.length} shapes, run ${meta['opsrl.run_id'] || '-'})`);
}

main().catch((e) => {
  console.error(`check_model: ${e.stack || e.message}`);
  process.exit(1);
});
