// mqcalib/src/exec/eigen_gemm.h: internal helper, single-threaded Eigen GEMM on row-major buffers.
//
// Eigen's own threading is never used (docs/STYLE.md): its blocking would depend on the thread
// count. The library is compiled with EIGEN_DONT_PARALLELIZE; the check below keeps it that way.
#pragma once

#ifndef EIGEN_DONT_PARALLELIZE
#error "src/exec must be compiled with EIGEN_DONT_PARALLELIZE (see src/exec/meson.build)"
#endif

#include <Eigen/Core>
#include <cstdint>

namespace mqcalib::detail {

using MatRowF32 = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// C[m,n] = A[m,k] * B[k,n]; all row-major with leading dimensions equal to the column counts.
inline void gemm_rm_f32(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  Eigen::Map<const MatRowF32> A(a, m, k);
  Eigen::Map<const MatRowF32> B(b, k, n);
  Eigen::Map<MatRowF32> C(c, m, n);
  C.noalias() = A * B;
}

// C[m,n] = A[m,k] * B[n,k]^T (linear layers: x w^T).
inline void gemm_rm_bt_f32(const float* a, const float* b, float* c, int64_t m, int64_t k, int64_t n) {
  Eigen::Map<const MatRowF32> A(a, m, k);
  Eigen::Map<const MatRowF32> B(b, n, k);
  Eigen::Map<MatRowF32> C(c, m, n);
  C.noalias() = A * B.transpose();
}

}  // namespace mqcalib::detail
