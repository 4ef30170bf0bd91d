#pragma once
// Precompiled header of the LibTorch targets (opsrl_agents, test_policy, bench_policy):
// <torch/torch.h> alone costs ~20 s of compile time per translation unit.
#include <torch/torch.h>
