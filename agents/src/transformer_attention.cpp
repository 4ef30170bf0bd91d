// Fused multi-head attention on CPU (see transformer_attention.hpp), and set_compute_threads.
//
// Per (batch row b, head h), with q, k, v the head's (T x dh) blocks of qkv (row stride 3d),
// s = 1/sqrt(dh), Tp = T rounded up to 16 (the padded keys get the masked bias):
//   forward   S = q (s k)^T + bias   P = softmax_rows(S)   O = P v            (P saved, T x Tp)
//   backward  dP = dO v^T   dS = P * (dP - rowsum(P * dP))
//             dq = s dS k   dk = s dS^T q   dv = P^T dO
// The key axis is the vector axis for S, P, dP, dS (16 floats, Tp a multiple of 16); the head
// axis (dh) is the vector axis for O, dq, dk, dv (a scalar tail when dh is not a multiple of 16).
#include "transformer_attention.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include <ATen/Parallel.h>

#include <opsrl/agents/transformer_policy.hpp>

namespace opsrl::agents {
namespace detail {
namespace {

using torch::Tensor;

// 16-float vectors; the helpers below are always inlined into the target_clones functions, so
// the vector-argument ABI note (-Wpsabi) does not concern them.
#pragma GCC diagnostic ignored "-Wpsabi"
constexpr int64_t kLanes = 16;
typedef float vf __attribute__((vector_size(kLanes * sizeof(float))));
typedef int vi __attribute__((vector_size(kLanes * sizeof(int))));

inline __attribute__((always_inline)) vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline __attribute__((always_inline)) void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }
inline __attribute__((always_inline)) vf splat(float x) { return vf{} + x; }
inline __attribute__((always_inline)) float hsum(vf v) {
  float s = 0;
  for (int l = 0; l < kLanes; ++l) s += v[l];
  return s;
}
inline __attribute__((always_inline)) float hmax(vf v) {
  float m = v[0];
  for (int l = 1; l < kLanes; ++l) m = std::max(m, v[l]);
  return m;
}

// exp(x) for x <= 0 (softmax arguments), Cephes' single-precision polynomial (relative error
// ~2e-7); exactly 0 below -87 (masked keys), never a denormal.
inline __attribute__((always_inline)) vf exp_nonpositive(vf x) {
  const vi underflow = x < -87.0f;
  x = underflow ? splat(-87.0f) : x;
  vf fx = x * 1.44269504088896341f + 0.5f;
  vf n = __builtin_convertvector(__builtin_convertvector(fx, vi), vf);
  n = n > fx ? n - 1.0f : n;  // floor
  x = x - n * 0.693359375f;
  x = x + n * 2.12194440e-4f;
  const vf z = x * x;
  vf y = splat(1.9875691500e-4f);
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.0f;
  const vi bits = (__builtin_convertvector(n, vi) + 127) << 23;
  y = y * (vf)bits;  // 2^n from its exponent bits (a vector cast reinterprets)
  return underflow ? splat(0.0f) : y;
}

struct Shape {
  int64_t B, T, Tp, d, H, dh;
  float scale;
  int64_t ld() const { return 3 * d; }
};

// dst (cols x Tp) = src (count rows of cols, row stride ld) transposed and multiplied by
// `factor`, with zero columns from `count` to Tp.
inline void transpose_padded(const float* src, int64_t count, int64_t ld, int64_t cols, int64_t Tp, float factor,
                             float* dst) {
  for (int64_t c = 0; c < cols; ++c) {
    float* row = dst + c * Tp;
    for (int64_t j = 0; j < count; ++j) row[j] = src[j * ld + c] * factor;
    for (int64_t j = count; j < Tp; ++j) row[j] = 0.0f;
  }
}

// The one product every step of the kernel is made of, a small matrix product with strided
// operands:
//   out[u * out_ld + c] = init[c] (or 0) + sum_{j < count} w[u * wu + j * wj] * x[j * ld + c]
// for u < rows, c < n. Register blocking: R = 4 output rows at a time, each with V = 4 (or 1)
// vectors of accumulators, so that every loaded x vector serves R rows; a scalar tail for n
// not a multiple of the vector width.
template <int R, int V>
inline __attribute__((always_inline)) void product_block(float* out, int64_t out_ld, const float* init, const float* w,
                                                         int64_t wu, int64_t wj, const float* x, int64_t ld,
                                                         int64_t count, int64_t c0) {
  vf acc[R][V];
#pragma GCC unroll 4
  for (int u = 0; u < R; ++u)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[u][v] = init ? load(init + c0 + v * kLanes) : vf{};
  for (int64_t j = 0; j < count; ++j) {
    vf xv[V];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) xv[v] = load(x + j * ld + c0 + v * kLanes);
#pragma GCC unroll 4
    for (int u = 0; u < R; ++u) {
      const float a = w[u * wu + j * wj];
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[u][v] += a * xv[v];
    }
  }
#pragma GCC unroll 4
  for (int u = 0; u < R; ++u)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) store(out + u * out_ld + c0 + v * kLanes, acc[u][v]);
}

template <int R>
inline __attribute__((always_inline)) void product_rows(float* out, int64_t out_ld, const float* init, const float* w,
                                                        int64_t wu, int64_t wj, const float* x, int64_t ld, int64_t count,
                                                        int64_t n) {
  int64_t c = 0;
  for (; c + 4 * kLanes <= n; c += 4 * kLanes) product_block<R, 4>(out, out_ld, init, w, wu, wj, x, ld, count, c);
  for (; c + kLanes <= n; c += kLanes) product_block<R, 1>(out, out_ld, init, w, wu, wj, x, ld, count, c);
  for (; c < n; ++c)
    for (int u = 0; u < R; ++u) {
      float acc = init ? init[c] : 0.0f;
      for (int64_t j = 0; j < count; ++j) acc += w[u * wu + j * wj] * x[j * ld + c];
      out[u * out_ld + c] = acc;
    }
}

inline __attribute__((always_inline)) void product(int64_t rows, float* out, int64_t out_ld, const float* init,
                                                   const float* w, int64_t wu, int64_t wj, const float* x, int64_t ld,
                                                   int64_t count, int64_t n) {
  int64_t u = 0;
  for (; u + 4 <= rows; u += 4) product_rows<4>(out + u * out_ld, out_ld, init, w + u * wu, wu, wj, x, ld, count, n);
  for (; u < rows; ++u) product_rows<1>(out + u * out_ld, out_ld, init, w + u * wu, wu, wj, x, ld, count, n);
}

// Row-wise softmax of a (rows x Tp) block in place.
inline __attribute__((always_inline)) void softmax_rows(float* p, int64_t rows, int64_t Tp) {
  const int64_t nv = Tp / kLanes;
  for (int64_t r = 0; r < rows; ++r, p += Tp) {
    vf m = load(p);
    for (int64_t jv = 1; jv < nv; ++jv) {
      const vf x = load(p + jv * kLanes);
      m = x > m ? x : m;
    }
    const float row_max = hmax(m);
    vf sum{};
    for (int64_t jv = 0; jv < nv; ++jv) {
      const vf e = exp_nonpositive(load(p + jv * kLanes) - row_max);
      store(p + jv * kLanes, e);
      sum += e;
    }
    const float inv = 1.0f / hsum(sum);
    for (int64_t jv = 0; jv < nv; ++jv) store(p + jv * kLanes, load(p + jv * kLanes) * inv);
  }
}

// Multiply-adds may fuse here (explicitly, this kernel only: the project builds with
// -ffp-contract=off): the AVX-512 and AVX2+FMA clones then differ from the baseline clone in
// the last bits, each deterministic; the tests compare them with the ATen reference.
#define OPSRL_ATTENTION_KERNEL \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"), optimize("fp-contract=fast")))

OPSRL_ATTENTION_KERNEL
void forward_heads(int64_t begin, int64_t end, const Shape s, const float* qkv, const float* key_bias, float* probs,
                   float* out) {
  const int64_t T = s.T, Tp = s.Tp, d = s.d, dh = s.dh, ld = s.ld();
  std::vector<float> kt(static_cast<std::size_t>(dh * Tp));
  for (int64_t i = begin; i < end; ++i) {
    const int64_t b = i / s.H, h = i % s.H;
    const float* q = qkv + b * T * ld + h * dh;
    const float* k = q + d;
    const float* v = q + 2 * d;
    float* p = probs + i * T * Tp;
    transpose_padded(k, T, ld, dh, Tp, s.scale, kt.data());
    product(T, p, Tp, key_bias + b * Tp, q, ld, 1, kt.data(), Tp, dh, Tp);  // S = bias + q (s k)^T
    softmax_rows(p, T, Tp);
    product(T, out + b * T * d + h * dh, d, nullptr, p, Tp, 1, v, ld, T, dh);  // O = P v
  }
}

OPSRL_ATTENTION_KERNEL
void backward_heads(int64_t begin, int64_t end, const Shape s, const float* qkv, const float* probs,
                    const float* grad_out, float* grad_qkv) {
  const int64_t T = s.T, Tp = s.Tp, d = s.d, dh = s.dh, ld = s.ld(), nv = Tp / kLanes;
  std::vector<float> vt(static_cast<std::size_t>(dh * Tp)), ds(static_cast<std::size_t>(T * Tp));
  for (int64_t i = begin; i < end; ++i) {
    const int64_t b = i / s.H, h = i % s.H;
    const float* q = qkv + b * T * ld + h * dh;
    const float* k = q + d;
    const float* v = q + 2 * d;
    const float* p = probs + i * T * Tp;
    const float* go = grad_out + b * T * d + h * dh;
    float* gq = grad_qkv + b * T * ld + h * dh;
    transpose_padded(v, T, ld, dh, Tp, 1.0f, vt.data());
    product(T, ds.data(), Tp, nullptr, go, d, 1, vt.data(), Tp, dh, Tp);  // dP = dO v^T
    // s dS = s P (dP - <P, dP>) per row (0 on the padded keys: P is 0 there).
    for (int64_t r = 0; r < T; ++r) {
      const float* pr = p + r * Tp;
      float* dr = ds.data() + r * Tp;
      vf dot{};
      for (int64_t jv = 0; jv < nv; ++jv) dot += load(pr + jv * kLanes) * load(dr + jv * kLanes);
      const float t = hsum(dot);
      for (int64_t jv = 0; jv < nv; ++jv)
        store(dr + jv * kLanes, load(pr + jv * kLanes) * (load(dr + jv * kLanes) - t) * s.scale);
    }
    product(T, gq, ld, nullptr, ds.data(), Tp, 1, k, ld, T, dh);          // dq = s dS k
    product(T, gq + d, ld, nullptr, ds.data(), 1, Tp, q, ld, T, dh);      // dk = s dS^T q
    product(T, gq + 2 * d, ld, nullptr, p, 1, Tp, go, d, T, dh);          // dv = P^T dO
  }
}

// Work items are (batch row, head) pairs, split over LibTorch's intra-op threads; each item is
// computed by one thread alone, so the results do not depend on the thread count.
constexpr int64_t kGrain = 16;

Shape shape_of(const Tensor& qkv, int64_t heads, int64_t padded) {
  const int64_t d = qkv.size(2) / 3, dh = d / heads;
  return {qkv.size(0), qkv.size(1), padded, d, heads, dh, static_cast<float>(1.0 / std::sqrt(static_cast<double>(dh)))};
}

class FusedAttention : public torch::autograd::Function<FusedAttention> {
 public:
  // qkv (B,T,3d) contiguous float; key_bias (B,Tp) float: 0 valid, kMaskedLogit masked or padded.
  static Tensor forward(torch::autograd::AutogradContext* ctx, const Tensor& qkv, const Tensor& key_bias, int64_t heads) {
    const Shape s = shape_of(qkv, heads, key_bias.size(1));
    Tensor probs = torch::empty({s.B, s.H, s.T, s.Tp}, qkv.options());
    Tensor out = torch::empty({s.B, s.T, s.d}, qkv.options());
    const float* x = qkv.data_ptr<float>();
    const float* bias = key_bias.data_ptr<float>();
    float* p = probs.data_ptr<float>();
    float* o = out.data_ptr<float>();
    at::parallel_for(0, s.B * s.H, kGrain, [&](int64_t begin, int64_t end) { forward_heads(begin, end, s, x, bias, p, o); });
    ctx->save_for_backward({qkv, probs});
    ctx->saved_data["heads"] = heads;
    return out;
  }

  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx, torch::autograd::tensor_list grads) {
    const auto saved = ctx->get_saved_variables();
    const Tensor& qkv = saved[0];
    const Tensor& probs = saved[1];
    const Shape s = shape_of(qkv, ctx->saved_data["heads"].toInt(), probs.size(3));
    const Tensor grad_out = grads[0].contiguous();
    Tensor grad_qkv = torch::empty_like(qkv);
    const float* x = qkv.data_ptr<float>();
    const float* p = probs.data_ptr<float>();
    const float* go = grad_out.data_ptr<float>();
    float* gx = grad_qkv.data_ptr<float>();
    at::parallel_for(0, s.B * s.H, kGrain, [&](int64_t begin, int64_t end) { backward_heads(begin, end, s, x, p, go, gx); });
    return {grad_qkv, Tensor(), Tensor()};
  }
};

Tensor key_bias(const Tensor& key_valid, int64_t padded, const torch::TensorOptions& options) {
  const int64_t B = key_valid.size(0), T = key_valid.size(1);
  Tensor bias = torch::full({B, padded}, kMaskedLogit, options);
  bias.narrow(1, 0, T).masked_fill_(key_valid, 0.0);
  return bias;
}

}  // namespace

Tensor attention_reference(const Tensor& qkv, const Tensor& key_valid, int64_t heads) {
  const int64_t B = qkv.size(0), T = qkv.size(1), d = qkv.size(2) / 3, H = heads, dh = d / H;
  const Tensor parts = qkv.view({B, T, 3, H, dh}).permute({2, 0, 3, 1, 4}).contiguous().view({3, B * H, T, dh});
  const Tensor bias = key_bias(key_valid, T, qkv.options()).view({B, 1, 1, T}).expand({B, H, 1, T}).reshape({B * H, 1, T});
  const Tensor scores = torch::baddbmm(bias, parts[0], parts[1].transpose(1, 2), 1.0, 1.0 / std::sqrt(static_cast<double>(dh)));
  const Tensor mixed = torch::bmm(torch::softmax(scores, -1), parts[2]);
  return mixed.view({B, H, T, dh}).permute({0, 2, 1, 3}).reshape({B, T, d});
}

Tensor attention(const Tensor& qkv, const Tensor& key_valid, int64_t heads) {
  if (!qkv.device().is_cpu() || qkv.scalar_type() != torch::kFloat32) return attention_reference(qkv, key_valid, heads);
  const int64_t T = qkv.size(1);
  const int64_t padded = (T + kLanes - 1) / kLanes * kLanes;
  return FusedAttention::apply(qkv.contiguous(), key_bias(key_valid, padded, qkv.options()), heads);
}

}  // namespace detail

void set_compute_threads(int threads) {
  torch::set_num_threads(threads);
  using SetThreads = void (*)(int);
  static const auto openblas = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (openblas != nullptr) openblas(threads);
}

}  // namespace opsrl::agents
