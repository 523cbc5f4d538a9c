// mqcalib/reconstruction/layer_mse_linear.cpp: the fused loss-and-gradient kernel of linear layers
// (reconstruction/layer_mse.h).
#include <Eigen/Core>
#include <algorithm>
#include <vector>

#include "core/parallel.h"
#include "exec/eigen_gemm.h"
#include "reconstruction/layer_mse_kernels.h"

namespace mqcalib::recon_detail::mse {

using MatRow = detail::MatRowF32;

// Linear: per chunk of S samples, Z[O, S] = W[O, I] x_chunk[S, I]^T (one row per output channel, so
// the bias and the loss run along rows), gW_chunk = gZ x_chunk.
double linear(const Job& j, float* gw) {
  const int64_t N = j.x.shape[0], I = j.x.shape[1], O = j.layer.weight.shape[0];
  const int64_t S = std::clamp<int64_t>(kChunkColumnFloats / std::max<int64_t>(1, I), 1, N);
  const int64_t nchunks = num_chunks(N, S), wsize = O * I;
  std::vector<double>& loss = scratch_loss(nchunks);
  std::vector<float>& part = scratch_part(gw ? (nchunks - 1) * wsize : 0);
  parallel_for_chunks(N, S, [&](int64_t n0, int64_t n1, int64_t k) {
    thread_local std::vector<float> z, tt;
    const int64_t Sn = n1 - n0;
    z.resize(static_cast<size_t>(O * Sn));
    tt.resize(static_cast<size_t>(O * Sn));
    for (int64_t n = n0; n < n1; ++n)
      for (int64_t o = 0; o < O; ++o) tt[static_cast<size_t>(o * Sn + n - n0)] = j.t.data[n * O + o];
    const Eigen::Map<const MatRow> X(j.x.data + n0 * I, Sn, I);
    const Eigen::Map<const MatRow> Wm(j.w, O, I);
    Eigen::Map<MatRow> Z(z.data(), O, Sn);
    Z.noalias() = Wm * X.transpose();
    double lk = 0.0;
    for (int64_t o = 0; o < O; ++o)
      lk += j.seg(z.data() + o * Sn, Sn, tt.data() + o * Sn, 1, Sn, j.layer.bias ? j.layer.bias[o] : 0.0f, j.scale2,
                  j.act, j.layer.activation_params);
    if (float* pg = chunk_grad(gw, part, k, wsize)) {
      Eigen::Map<MatRow> Gw(pg, O, I);
      Gw.noalias() = Z * X;
    }
    loss[static_cast<size_t>(k)] = lk;
  });
  return finish(gw, part, nchunks, wsize, loss, j.m);
}

}  // namespace mqcalib::recon_detail::mse
