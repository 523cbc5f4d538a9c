// mqcalib/src/exec/reduce.cpp: mean over dims and softmax.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "core/parallel.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kReduceChunkElems = 1 << 15;  // input elements per parallel chunk

std::vector<bool> reduced_mask(const Shape& x, const std::vector<int64_t>& dims) {
  std::vector<bool> red(x.size(), false);
  for (int64_t d : dims) red[static_cast<size_t>(normalize_axis(d, static_cast<int>(x.size()), "mean"))] = true;
  if (dims.empty()) std::fill(red.begin(), red.end(), true);  // torch.mean(x) over all dims
  return red;
}

}  // namespace

Shape mean_output_shape(const Shape& x, const std::vector<int64_t>& dims, bool keepdim) {
  const std::vector<bool> red = reduced_mask(x, dims);
  Shape out;
  for (size_t d = 0; d < x.size(); ++d) {
    if (!red[d])
      out.push_back(x[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

// Reference: every input element, in flat order, accumulated (float) into its output slot; then
// divided by the reduced count.
void mean_f32_ref(ViewF32 x, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 y) {
  if (y.shape != mean_output_shape(x.shape, dims, keepdim)) throw Error("mean: output buffer shape mismatch");
  const std::vector<bool> red = reduced_mask(x.shape, dims);
  const size_t r = x.shape.size();
  // output strides over the kept dims
  std::vector<int64_t> ost(r, 0);
  int64_t acc = 1, count = 1;
  for (size_t d = r; d-- > 0;) {
    if (red[d]) {
      count *= x.shape[d];
      continue;
    }
    ost[d] = acc;
    acc *= x.shape[d];
  }
  std::fill(y.data, y.data + y.size(), 0.0f);
  for (int64_t flat = 0; flat < x.size(); ++flat) {
    int64_t rem = flat, o = 0;
    for (size_t d = r; d-- > 0;) {
      o += (rem % x.shape[d]) * ost[d];
      rem /= x.shape[d];
    }
    y.data[o] += x.data[flat];
  }
  for (int64_t i = 0; i < y.size(); ++i) y.data[i] = y.data[i] / static_cast<float>(count);
}

// Fast: reduced dims moved last (a transpose unless they already are), then contiguous sums. Each
// output sums its elements in increasing input flat order, as the reference: identical results.
void mean_f32(ViewF32 x, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 y) {
  if (y.shape != mean_output_shape(x.shape, dims, keepdim)) throw Error("mean: output buffer shape mismatch");
  const std::vector<bool> red = reduced_mask(x.shape, dims);
  std::vector<int64_t> perm;
  int64_t count = 1;
  for (size_t d = 0; d < red.size(); ++d)
    if (!red[d]) perm.push_back(static_cast<int64_t>(d));
  for (size_t d = 0; d < red.size(); ++d)
    if (red[d]) {
      perm.push_back(static_cast<int64_t>(d));
      count *= x.shape[d];
    }
  bool identity = true;
  for (size_t d = 0; d < perm.size(); ++d) identity = identity && perm[d] == static_cast<int64_t>(d);
  std::vector<float> tmp;
  const float* src = x.data;
  if (!identity) {
    tmp.resize(static_cast<size_t>(x.size()));
    MutViewF32 t{tmp.data(), transpose_output_shape(x.shape, perm)};
    transpose_f32(x, perm, t);
    src = tmp.data();
  }
  const int64_t outs = y.size();
  if (count == 0) {
    std::fill(y.data, y.data + outs, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  parallel_for_chunks(outs, std::max<int64_t>(1, kReduceChunkElems / count), [&](int64_t b, int64_t e, int64_t) {
    for (int64_t o = b; o < e; ++o) {
      const float* p = src + o * count;
      float s = 0.0f;
      for (int64_t k = 0; k < count; ++k) s += p[k];
      y.data[o] = s / static_cast<float>(count);
    }
  });
}

namespace {

void softmax_range(const float* x, float* y, int64_t outer_b, int64_t outer_e, int64_t n, int64_t inner) {
  for (int64_t o = outer_b; o < outer_e; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const float* xp = x + o * n * inner + i;
      float* yp = y + o * n * inner + i;
      float m = -std::numeric_limits<float>::infinity();
      for (int64_t k = 0; k < n; ++k) m = std::max(m, xp[k * inner]);
      float s = 0.0f;
      for (int64_t k = 0; k < n; ++k) {
        const float e = std::exp(xp[k * inner] - m);
        yp[k * inner] = e;
        s += e;
      }
      for (int64_t k = 0; k < n; ++k) yp[k * inner] = yp[k * inner] / s;
    }
}

void softmax_dims(const ViewF32& x, int64_t axis, const MutViewF32& y, int64_t& outer, int64_t& n, int64_t& inner) {
  if (y.shape != x.shape) throw Error("softmax: output shape differs from input " + shape_to_string(x.shape));
  const int64_t a = normalize_axis(axis, x.rank(), "softmax");
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < a; ++d) outer *= x.shape[d];
  for (int64_t d = a + 1; d < x.rank(); ++d) inner *= x.shape[d];
  n = x.shape[a];
}

}  // namespace

void softmax_f32(ViewF32 x, int64_t axis, MutViewF32 y) {
  int64_t outer, n, inner;
  softmax_dims(x, axis, y, outer, n, inner);
  parallel_for_chunks(outer, std::max<int64_t>(1, kReduceChunkElems / std::max<int64_t>(1, n * inner)),
                      [&](int64_t b, int64_t e, int64_t) { softmax_range(x.data, y.data, b, e, n, inner); });
}

void softmax_f32_ref(ViewF32 x, int64_t axis, MutViewF32 y) {
  int64_t outer, n, inner;
  softmax_dims(x, axis, y, outer, n, inner);
  softmax_range(x.data, y.data, 0, outer, n, inner);
}

}  // namespace mqcalib
