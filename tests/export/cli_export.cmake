# The whole path through the opsrl binary: a brief `opsrl train`, `opsrl export --verify` of its
# run directory, the model read by a Node.js consumer (check_model.js: metadata with the run id,
# dynamic axes, masks, types), the deployment example on sample observations of both tasks, and
# the export errors that need a real checkpoint.
#   -DOPSRL=... -DNODE=... -DNODE_MODULES=... -DSOURCE=... -DOUT=... -P cli_export.cmake
file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

function(run_ok what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

function(expect what text regex)
  if(NOT text MATCHES "${regex}")
    message(FATAL_ERROR "${what}: expected /${regex}/ in:\n${text}")
  endif()
endfunction()

set(run "${OUT}/run-cli")
run_ok("opsrl train" "${OPSRL}" train --run-dir "${run}" --threads 1 --seed 3 --total-steps 128
       --set env.scenario=small --set env.incident_envs=2 --set env.autoscale_envs=2 --set ppo.num_steps=16
       --set policy.d_model=32 --set policy.ff=64 --set log.progress=off)

run_ok("opsrl export --verify" "${OPSRL}" export --checkpoint "${run}" --out "${OUT}/policy.onnx" --verify
       --node-modules "${NODE_MODULES}")
expect("export" "${out}" "training checkpoint, run run-cli, update 2")
expect("export" "${out}" "opset 17")
expect("export --verify" "${out}" "greedy actions: ([0-9]+)/([0-9]+) rows identical")
expect("export --verify" "${out}" "verify: passed")
if(NOT EXISTS "${OUT}/policy.onnx" OR EXISTS "${OUT}/policy.onnx.tmp")
  message(FATAL_ERROR "policy.onnx missing or its temporary file left behind")
endif()

run_ok("check_model.js" "${CMAKE_COMMAND}" -E env "NODE_PATH=${NODE_MODULES}"
       "${NODE}" "${SOURCE}/tests/export/check_model.js" "${OUT}/policy.onnx" run-cli)
expect("check_model.js" "${out}" "check_model: ok")

foreach(task incident autoscale)
  run_ok("sample observation" "${OPSRL}" export --sample-observation "${OUT}/${task}.json" --task ${task} --seed 2)
  run_ok("examples/onnx/act.js" "${CMAKE_COMMAND}" -E env "NODE_PATH=${NODE_MODULES}"
         "${NODE}" "${SOURCE}/examples/onnx/act.js" "${OUT}/policy.onnx" "${OUT}/${task}.json")
  expect("act.js ${task}" "${out}" "policy, run run-cli")
  if(task STREQUAL "incident")
    expect("act.js" "${out}" "remediation: [a-z_]+")
    expect("act.js" "${out}" "diagnosis: ")
    expect("act.js" "${out}" "ground truth \\(for comparison\\)")
  else()
    expect("act.js" "${out}" "replicas: ")
  endif()
endforeach()

# An opset the graph cannot be written in: the error names the layer; nothing is written.
execute_process(COMMAND "${OPSRL}" export --checkpoint "${run}" --out "${OUT}/old.onnx" --opset 12
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(rc EQUAL 0 OR EXISTS "${OUT}/old.onnx")
  message(FATAL_ERROR "--opset 12 should fail and write nothing")
endif()
expect("--opset 12" "${err}" "layer \"embed\": needs ONNX operator Unsqueeze")
