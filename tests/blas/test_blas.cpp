// Debian's LibTorch runs matrix products through whatever libblas.so.3 the alternatives
// system selects. The reference BLAS is ~30x slower than OpenBLAS and nothing warns about it,
// so this test fails loudly when sgemm does not come from OpenBLAS. It also prints the
// measured matrix-product throughput (a figure, not an assertion).
#include <dlfcn.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>
#include <torch/torch.h>

TEST_CASE("LibTorch's BLAS is OpenBLAS, not the reference BLAS") {
  // A product large enough that LibTorch hands it to BLAS (and so loads it).
  const auto a = torch::randn({256, 256});
  const auto b = torch::randn({256, 256});
  const auto c = torch::mm(a, b);
  REQUIRE(c.size(0) == 256);

  void* sgemm = dlsym(RTLD_DEFAULT, "sgemm_");
  REQUIRE_MESSAGE(sgemm != nullptr, "no sgemm_ symbol is loaded: LibTorch was built without BLAS?");
  Dl_info info{};
  REQUIRE(dladdr(sgemm, &info) != 0);
  char resolved[4096];
  const std::string path = realpath(info.dli_fname, resolved) ? resolved : info.dli_fname;
  MESSAGE("sgemm_ comes from " << path);
  CHECK_MESSAGE(path.find("openblas") != std::string::npos,
                "LibTorch uses the reference BLAS (" << path
                                                     << "), about 30x slower: run scripts/setup, which installs "
                                                        "libopenblas0-pthread");

  // Throughput, for the log.
  torch::NoGradGuard no_grad;
  const int n = 1024;
  const auto x = torch::randn({n, n});
  const auto y = torch::randn({n, n});
  torch::mm(x, y);  // warm-up
  const int reps = 5;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) torch::mm(x, y);
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double gflops = 2.0 * n * n * n * reps / s / 1e9;
  MESSAGE("fp32 matrix product " << n << "x" << n << ": " << gflops << " GFLOP/s on " << torch::get_num_threads()
                                 << " threads");
  CHECK(gflops > 0);
}
