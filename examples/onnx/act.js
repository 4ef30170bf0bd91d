#!/usr/bin/env node
// Deployment example: an exported opsrl policy in ONNX Runtime, with nothing of opsrl but the
// .onnx file. Reads one observation (or a batch) as JSON, runs the model and prints the greedy
// action of every row with the names the model's metadata gives: the remediation and the
// diagnosis on the incident task, the replica changes on the autoscale task.
//
//   opsrl export --checkpoint runs/exp1 --out policy.onnx
//   opsrl export --sample-observation obs.json --task incident
//   NODE_PATH=third_party/node/node_modules node examples/onnx/act.js policy.onnx obs.json
//
// Observation JSON: the arrays of docs/observation.md under their names, one observation
// (features T x F) or a batch (features B x T x F, the other arrays with a leading B too);
// optional "token_names" (T) and "ground_truth" are printed along.
'use strict';
const fs = require('fs');
const path = require('path');
const {readMetadata} = require('./onnx_metadata');

function loadOrt() {
  try {
    return require('onnxruntime-node');
  } catch (e) {
    // Where scripts/setup installs it, relative to this file in a checkout.
    const local = path.join(__dirname, '..', '..', 'third_party', 'node', 'node_modules', 'onnxruntime-node');
    try {
      return require(local);
    } catch (e2) {
      console.error('act.js: onnxruntime-node not found: `npm install onnxruntime-node` here, or set NODE_PATH');
      process.exit(2);
    }
  }
}

// Index of the first largest value of x[offset, offset + n), and its probability among the
// allowed choices (masked ones hold -1e9 and get probability 0). allowed = false: none allowed.
function choose(x, offset, n, masked) {
  let best = 0;
  for (let i = 1; i < n; ++i) if (x[offset + i] > x[offset + best]) best = i;
  let sum = 0;
  for (let i = 0; i < n; ++i) sum += Math.exp(x[offset + i] - x[offset + best]);
  return {index: best, p: 1 / sum, allowed: x[offset + best] !== masked};
}

function flat(value, depth) {
  return depth <= 0 ? value : value.flat(depth);
}

function main() {
  if (process.argv.length < 4) {
    console.error('usage: node act.js POLICY.onnx OBSERVATION.json');
    process.exit(2);
  }
  const [modelPath, obsPath] = process.argv.slice(2, 4);
  const meta = readMetadata(modelPath);
  if (!meta['opsrl.format']) throw new Error(`${modelPath}: not an opsrl policy (no opsrl.format metadata)`);
  const vocab = JSON.parse(meta['opsrl.action_vocabulary']);
  const masked = JSON.parse(meta['opsrl.outputs']).masked_logit;
  const obs = JSON.parse(fs.readFileSync(obsPath, 'utf8'));

  // One observation or a batch: features (T,F) or (B,T,F).
  const batched = Array.isArray(obs.features[0][0]);
  const rows = batched ? obs.features : [obs.features];
  const B = rows.length, T = rows[0].length, F = rows[0][0].length;
  const lead = (a) => (batched ? a : [a]);
  const ort = loadOrt();
  const feeds = {
    features: new ort.Tensor('float32', Float32Array.from(flat(rows, 2)), [B, T, F]),
    token_type: new ort.Tensor('int32', Int32Array.from(flat(lead(obs.token_type), 1)), [B, T]),
    valid: new ort.Tensor('uint8', Uint8Array.from(flat(lead(obs.valid), 1)), [B, T]),
    links: new ort.Tensor('int32', Int32Array.from(flat(lead(obs.links), 2)), [B, T, 2]),
    task_id: new ort.Tensor('int32', Int32Array.from(batched ? obs.task_id : [obs.task_id]), [B]),
    action_mask: new ort.Tensor('uint8', Uint8Array.from(flat(lead(obs.action_mask), 1)),
                                [B, lead(obs.action_mask)[0].length]),
  };
  const names = obs.token_names || [];
  const token = (t) => (names[t] ? `${names[t]} (token ${t})` : `token ${t}`);
  const pct = (p) => `p = ${p.toFixed(2)}`;

  ort.InferenceSession.create(modelPath).then(async (session) => {
    const out = await session.run(feeds);
    const run = meta['opsrl.run_id'] ? `, run ${meta['opsrl.run_id']}` : '';
    console.log(`${path.basename(modelPath)}: opsrl ${meta['opsrl.version']} policy${run}; ` +
                `ONNX Runtime ${ort.env.versions.node}; ${B} observation(s), ${T} tokens`);
    const V = vocab.verbs.length, D = vocab.diag_types.length;
    for (let b = 0; b < B; ++b) {
      const task = feeds.task_id.data[b] === 0 ? 'incident' : 'autoscale';
      console.log(`[${b}] ${task}, value ${out.value.data[b].toFixed(3)}`);
      if (task === 'incident') {
        const verb = choose(out.verb.data, b * V, V, masked);
        const v = vocab.verbs[verb.index];
        const target = choose(out.target.data, (b * V + verb.index) * T, T, masked);
        const where = v.target_kind === 'none' ? '' : ` -> ${target.allowed ? token(target.index) : '(no target allowed)'}`;
        console.log(`  remediation: ${verb.allowed ? v.name + where : '(no verb allowed)'}   ${pct(verb.p)}`);
        const type = choose(out.diag_type.data, b * D, D, masked);
        const d = vocab.diag_types[type.index];
        if (!type.allowed) {
          console.log('  diagnosis:   (no claim allowed: already claimed)');
        } else if (type.index === 0) {
          console.log(`  diagnosis:   none yet (no claim)   ${pct(type.p)}`);
        } else {
          const root = choose(out.diag_target.data, (b * D + type.index) * T, T, masked);
          console.log(`  diagnosis:   ${d.name} -> ${root.allowed ? token(root.index) : '(no root allowed)'}   ` +
                      `${pct(type.p)}, root ${pct(root.p)}`);
        }
      } else {
        const changes = [];
        for (let t = 0; t < T; ++t) {
          const delta = choose(out.delta.data, (b * T + t) * 3, 3, masked);
          const move = choose(out.move.data, (b * T + t) * 2, 2, masked);
          if (delta.allowed && delta.index !== 0) changes.push(`${vocab.delta[delta.index]} ${token(t)}`);
          if (move.allowed && move.index !== 0) changes.push(`${vocab.move[move.index]} ${token(t)}`);
        }
        console.log(`  replicas:    ${changes.length ? changes.join(', ') : 'no change'}`);
      }
    }
    if (obs.ground_truth) {
      const truth = obs.ground_truth.map((g) => `${g.fault} at ${g.root} (${g.active ? 'active' : 'not active yet'})`);
      console.log(`ground truth (for comparison): ${truth.length ? truth.join(', ') : 'no fault'}`);
    }
  }).catch((e) => {
    console.error(`act.js: ${e.message}`);
    process.exit(1);
  });
}

main();
