# Records a small dataset with `opsrl record` (with action noise, so that infos/intended_actions
# is there too), then reads it with Debian's python3 and h5py.
file(REMOVE "${OUT}")
execute_process(COMMAND "${OPSRL}" record --policy oracle --task incident --episodes 4 --seed 3 --scenario small
                        --action-noise 0.3 --out "${OUT}" --threads 1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "opsrl record failed (${rc}): ${err}")
endif()
execute_process(COMMAND "${PYTHON}" "${SCRIPT}" "${OUT}" 4 3 RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "h5py does not read the file as documented:\n${out}${err}")
endif()
message(STATUS "${out}")
file(REMOVE "${OUT}")
