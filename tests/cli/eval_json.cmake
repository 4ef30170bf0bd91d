# Runs `opsrl eval` for two policies with --json, then reads the file back with Python's json
# module and checks its figures against the printed table.
file(REMOVE "${OUT}")
execute_process(COMMAND "${OPSRL}" eval --policy threshold,oracle --task incident --episodes 24 --seed 3 --threads 2
                        --json "${OUT}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "opsrl eval failed (${rc}): ${err}")
endif()
if(NOT out MATCHES "figure +threshold +oracle" OR NOT out MATCHES "MTTR" OR NOT out MATCHES "localization accuracy +[0-9.]+% +100.0%")
  message(FATAL_ERROR "unexpected table:\n${out}")
endif()
if(NOT err MATCHES "eval oracle: 24 incident episodes")
  message(FATAL_ERROR "no progress on stderr:\n${err}")
endif()
if(EXISTS "${OUT}.tmp")
  message(FATAL_ERROR "temporary file left behind")
endif()
execute_process(COMMAND "${PYTHON}" -c [=[
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "opsrl-eval" and d["task"] == "incident" and d["episodes"] == 24, d
assert d["eval_seeds"]["first"] == 2**40 + 3
names = [p["policy"] for p in d["policies"]]
assert names == ["threshold", "oracle"], names
for p in d["policies"]:
    f = p["figures"]
    for key in ("return", "detection_rate", "false_positive_rate", "localization_accuracy", "rca_accuracy",
                "mitigation_rate", "mttr_min", "slo_violation_min", "cost_usd", "wrong_actions", "escalations"):
        assert key in f, key
    assert len(p["episodes"]["return"]) == 24
    assert abs(sum(p["episodes"]["return"]) / 24 - f["return"]["value"]) < 1e-9
oracle = d["policies"][1]["figures"]
assert oracle["localization_accuracy"]["value"] == 1.0 and oracle["rca_accuracy"]["value"] == 1.0
assert oracle["mttr_min"]["value"] < d["policies"][0]["figures"]["mttr_min"]["value"]
]=] "${OUT}" RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "the JSON file does not read back: ${err}")
endif()
