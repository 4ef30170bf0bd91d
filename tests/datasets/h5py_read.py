"""Reads an `opsrl record` file with h5py (Debian's python3-h5py) and checks its layout against
docs/datasets.md: every key, dtype and shape, and values that must agree with each other.

usage: h5py_read.py FILE EPISODES SEED
"""
import json
import sys

import h5py
import numpy as np

path, episodes, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
f = h5py.File(path, "r")
a = f.attrs
assert a["format"] == "opsrl-dataset", a["format"]
assert a["version"] == 1 and a["complete"] == 1
assert a["source"] == "simulator" and a["policy"] == "oracle" and a["policy_seed"] == seed
assert a["total_episodes"] == episodes, a["total_episodes"]
assert a["action_noise"] == 0.3, a["action_noise"]
spec = json.loads(a["env_spec"])
config = json.loads(a["env_config"])
assert spec["task"] == "incident" and spec["scenario"] == a["scenario"] == "small"
assert config["history"] == spec["history"]
assert a["scenario_hash"].startswith("fnv1a64:") and "[[services]]" in a["scenario_toml"]
T, F, M, A = spec["max_tokens"], spec["feature_width"], spec["mask_width"], spec["action_width"]
C = len(spec["reward_components"])
arrays = {x["name"]: x for x in spec["observation_arrays"]}
assert list(arrays) == ["features", "token_type", "valid", "links", "task_id", "action_mask"], list(arrays)
assert sorted(k for k in f.keys()) == sorted(f"episode_{k}" for k in range(episodes)), list(f.keys())

steps_total = skipped_actions = 0
for k in range(episodes):
    g = f[f"episode_{k}"]
    n = g["rewards"].shape[0]
    steps_total += n
    obs = g["observations"]
    for name, spec_array in arrays.items():
        d = obs[name]
        assert d.shape == (n + 1, *spec_array["shape"]), (name, d.shape)
        assert d.dtype == np.dtype(spec_array["dtype"]), (name, d.dtype)
    assert obs["features"].compression == "gzip" and obs["features"].chunks is not None
    expect = {
        "actions": ((n, A), np.int32), "rewards": ((n,), np.float64), "terminations": ((n,), np.uint8),
        "truncations": ((n,), np.uint8), "infos/reward_components": ((n, C), np.float64),
        "infos/action_outcome": ((n, 3), np.int32), "infos/time_s": ((n + 1,), np.float64),
        "infos/action_mask": ((n + 1, M), np.uint8), "infos/intended_actions": ((n, A), np.int32),
    }
    for key, (shape, dtype) in expect.items():
        assert g[key].shape == shape and g[key].dtype == dtype, (key, g[key].shape, g[key].dtype)
    # infos/action_mask is the observation's mask itself (a hard link), not a copy.
    assert g["infos/action_mask"] == obs["action_mask"]
    names = [str(x) for x in g["infos/reward_components"].attrs["names"]]
    assert names == spec["reward_components"], names
    r, comp = g["rewards"][()], g["infos/reward_components"][()]
    assert np.allclose(comp.sum(axis=1), r, atol=1e-9)
    assert np.isclose(r.sum(), g.attrs["return"], atol=1e-9)
    term, trunc = g["terminations"][()], g["truncations"][()]
    assert term[-1] + trunc[-1] == 1 and (term[:-1] + trunc[:-1]).sum() == 0
    assert g.attrs["terminated"] == term[-1] and g.attrs["truncated"] == trunc[-1]
    t = g["infos/time_s"][()]
    assert t[0] == 0 and np.allclose(np.diff(t), spec["step_interval_ms"] / 1000)
    assert g.attrs["seed"] == seed + k and g.attrs["steps"] == n and g.attrs["task"] == "incident"
    tt, valid = obs["token_type"][0], obs["valid"][0]
    assert tt[0] == 0 and valid.sum() == 1 + spec["num_nodes"] + spec["num_services"] + spec["num_replica_slots"]
    assert (obs["task_id"][()] == 0).all()
    assert np.isfinite(obs["features"][()]).all()
    # Actions are within each head's choices, and allowed by the mask of their observation.
    acts, masks = g["actions"][()], obs["action_mask"][()]
    verb = acts[:, 0]
    assert (verb >= 0).all() and (verb < 11).all()
    assert all(masks[i, v] == 1 for i, v in enumerate(verb))
    # Action noise: each executed row is the policy's intended one, or its claim without the remedy.
    intended = g["infos/intended_actions"][()]
    same = (acts == intended).all(axis=1)
    claim_only = (acts[:, :2] == 0).all(axis=1) & (acts[:, 2:] == intended[:, 2:]).all(axis=1)
    assert (same | claim_only).all()
    skipped_actions += int((~same).sum())
    gt = g["infos/ground_truth"]
    K = g.attrs["num_faults"]
    for key in ("fault_type", "root_token", "severity", "onset_s", "mitigated_s"):
        assert gt[key].shape == (K,), (key, gt[key].shape)
    fault_names = [str(x) for x in gt["fault_type"].attrs["names"]]
    assert fault_names[0] == "runaway_process" and len(fault_names) == 9
    if K:
        assert (gt["onset_s"][()] > 0).all() and g.attrs["root_correct"] == 1  # the oracle names the root
        assert valid[gt["root_token"][()]].all()
assert steps_total == a["total_steps"], (steps_total, a["total_steps"])
assert skipped_actions > 0, "action noise 0.3 skipped none of the oracle's actions"
print(f"h5py read {episodes} episodes, {steps_total} steps: shapes, dtypes and values as documented")
