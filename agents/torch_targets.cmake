# The LibTorch part of opsrl::agents: the transformer policy, its tests and its benchmark.
# Included from agents/CMakeLists.txt (after find_package(Torch) at the top level); every path
# is relative to this file, so it also works when included from another project.
#
#   opsrl_agents (opsrl::agents)   transformer policy       links opsrl::envs + LibTorch
#   test_policy                    doctest, tests/agents_torch/*.cpp (OPSRL_BUILD_TESTS)
#   bench_policy                   benchmarks/bench_policy.cpp       (OPSRL_BUILD_BENCHMARKS)
#
# The three share one precompiled header (agents/pch.hpp, <torch/torch.h>): the library
# builds it, the others reuse it, so they must keep the library's compile flags (no extra
# compile definitions on them).
set(_opsrl_agents_dir "${CMAKE_CURRENT_LIST_DIR}")
get_filename_component(_opsrl_root "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)

add_library(opsrl_agents
  ${_opsrl_agents_dir}/src/transformer_attention.cpp
  ${_opsrl_agents_dir}/src/transformer_policy.cpp
  ${_opsrl_agents_dir}/src/transformer_obs.cpp
  ${_opsrl_agents_dir}/src/policy_masked_categorical.cpp)
add_library(opsrl::agents ALIAS opsrl_agents)
target_include_directories(opsrl_agents PUBLIC ${_opsrl_agents_dir}/include)
target_link_libraries(opsrl_agents
  PUBLIC opsrl::envs ${TORCH_LIBRARIES}
  PRIVATE opsrl::options ${CMAKE_DL_LIBS})
target_precompile_headers(opsrl_agents PRIVATE ${_opsrl_agents_dir}/pch.hpp)

if(OPSRL_BUILD_TESTS)
  file(GLOB _opsrl_policy_tests CONFIGURE_DEPENDS ${_opsrl_root}/tests/agents_torch/*.cpp)
  add_executable(test_policy ${_opsrl_policy_tests})
  target_link_libraries(test_policy PRIVATE opsrl::agents opsrl::options opsrl_test_main)
  target_precompile_headers(test_policy REUSE_FROM opsrl_agents)
  # opsrl_test_main (tests/) is resolved at generate time, so its order does not matter.
  opsrl_add_doctest(test_policy)
endif()

if(OPSRL_BUILD_BENCHMARKS)
  add_executable(bench_policy ${_opsrl_root}/benchmarks/bench_policy.cpp)
  target_link_libraries(bench_policy PRIVATE opsrl::agents opsrl::options)
  target_precompile_headers(bench_policy REUSE_FROM opsrl_agents)
endif()
