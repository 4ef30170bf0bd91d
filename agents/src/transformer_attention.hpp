#pragma once
// Multi-head self-attention over a packed QKV projection, with a key padding mask:
//
//   qkv (B,T,3d) = [q | k | v], each d = H * dh columns, head h in columns h*dh .. (h+1)*dh
//   out (B,T,d)  : head h's columns = softmax(q_h k_h^T / sqrt(dh) + bias) v_h,
//                  bias = 0 for valid keys, kMaskedLogit for the others
//
// On CPU this runs a fused kernel: per (batch row, head), with every operand in L1, the scores
// of a query row against all keys, their softmax and the output row, reading q, k and v straight
// out of qkv's column blocks and writing the output into its block (no permute copies, no
// (B,H,T,T) passes between separate ops); the backward pass likewise. It is written with GCC
// vector extensions and compiled for x86-64-v4 (AVX-512), v3 (AVX2, FMA) and baseline x86-64,
// chosen by CPU features at load time
// (target_clones). Why: ATen 1.13's CPU bmm loops over the batch with a select and an addmm per
// matrix (~2.5 us each), which for B*H = 1024 products of 52 x 16 x 52 costs more than the
// arithmetic, and its softmax over a last axis of 52 misses its vectorised fast path.
// Elsewhere (CUDA) it runs attention_reference.
#include <torch/torch.h>

namespace opsrl::agents::detail {

torch::Tensor attention(const torch::Tensor& qkv, const torch::Tensor& key_valid, int64_t heads);
// The same with plain ATen ops (baddbmm, softmax, bmm): any device; the fused kernel's oracle.
torch::Tensor attention_reference(const torch::Tensor& qkv, const torch::Tensor& key_valid, int64_t heads);

}  // namespace opsrl::agents::detail
