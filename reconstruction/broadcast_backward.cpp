// mqcalib/reconstruction/broadcast_backward.cpp: reduce-to-shape, broadcasting mul and mean gradients
// (formulas in the header).
#include "reconstruction/broadcast_backward.h"

#include <algorithm>
#include <string>

#include "core/parallel.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kChunkTerms = int64_t{1} << 14;  // terms (Y elements) per parallel chunk

// Strides of operand shape s in the index space of the broadcast shape y (right-aligned; 0 where s is
// broadcast). Throws naming `fn` when s does not broadcast to y.
std::vector<int64_t> operand_strides(const Shape& s, const Shape& y, const char* fn) {
  if (s.size() > y.size())
    throw Error(std::string(fn) + ": operand " + shape_to_string(s) + " has more dims than " + shape_to_string(y));
  std::vector<int64_t> st(y.size(), 0);
  int64_t acc = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    const size_t ds = s.size() - 1 - k, dy = y.size() - 1 - k;
    if (s[ds] != 1 && s[ds] != y[dy])
      throw Error(std::string(fn) + ": operand " + shape_to_string(s) + " does not broadcast to " + shape_to_string(y));
    st[dy] = s[ds] == 1 ? 0 : acc;
    acc *= s[ds];
  }
  return st;
}

std::vector<int64_t> row_major_strides(const Shape& y) {
  std::vector<int64_t> st(y.size(), 1);
  for (size_t d = y.size(); d-- > 1;) st[d - 1] = st[d] * y[d];
  return st;
}

// The terms of one operand's outputs: output o (row-major over the operand's shape) collects the Y
// elements whose kept coordinates (dims where the operand is not broadcast) are o's, over the reduced
// dims in row-major order. `other` (strides of a second operand in Y space, or empty) is carried along.
struct Reduction {
  std::vector<int64_t> kept_size, kept_ystride, kept_ostride;  // kept dims, outermost first
  std::vector<int64_t> red_size, red_ystride, red_ostride;     // reduced dims, outermost first
  int64_t outputs = 1, terms = 1;

  Reduction(const Shape& y, const std::vector<int64_t>& st, const std::vector<int64_t>& other) {
    const std::vector<int64_t> ys = row_major_strides(y);
    for (size_t d = 0; d < y.size(); ++d) {
      if (y[d] == 1) continue;
      const int64_t os = other.empty() ? 0 : other[d];
      if (st[d] != 0) {
        kept_size.push_back(y[d]);
        kept_ystride.push_back(ys[d]);
        kept_ostride.push_back(os);
        outputs *= y[d];
      } else {
        red_size.push_back(y[d]);
        red_ystride.push_back(ys[d]);
        red_ostride.push_back(os);
        terms *= y[d];
      }
    }
    if (numel(y) == 0) outputs = terms = 0;
  }
  // Calls fn(y_offset, other_offset) for the terms of output o, in increasing y_offset.
  template <class Fn>
  void for_terms(int64_t o, Fn&& fn) const {
    int64_t yb = 0, ob = 0;
    for (size_t k = kept_size.size(); k-- > 0;) {
      const int64_t c = o % kept_size[k];
      o /= kept_size[k];
      yb += c * kept_ystride[k];
      ob += c * kept_ostride[k];
    }
    if (red_size.empty()) return fn(yb, ob);
    const size_t inner = red_size.size() - 1;
    std::vector<int64_t> idx(red_size.size(), 0);
    while (true) {
      int64_t yo = yb, oo = ob;
      for (size_t k = 0; k < inner; ++k) {
        yo += idx[k] * red_ystride[k];
        oo += idx[k] * red_ostride[k];
      }
      for (int64_t i = 0; i < red_size[inner]; ++i) fn(yo + i * red_ystride[inner], oo + i * red_ostride[inner]);
      size_t k = inner;
      while (k-- > 0) {
        if (++idx[k] < red_size[k]) break;
        idx[k] = 0;
      }
      if (k == static_cast<size_t>(-1)) return;
    }
  }
};

// Offset of Y's flat element i in an operand with strides st (Y space).
int64_t operand_offset(int64_t i, const Shape& y, const std::vector<int64_t>& st) {
  int64_t off = 0;
  for (size_t d = y.size(); d-- > 0;) {
    off += (i % y[d]) * st[d];
    i /= y[d];
  }
  return off;
}

// r[o] = sum of g[y] * (other ? other[off_other(y)] : 1) over the terms of o.
void reduce_fast(const float* g, const Shape& y, const std::vector<int64_t>& st, const float* other,
                 const std::vector<int64_t>& ost, float* r, int64_t rsize) {
  const Reduction red(y, st, other ? ost : std::vector<int64_t>{});
  if (red.outputs == 0) std::fill(r, r + rsize, 0.0f);  // empty y: every sum is empty
  const int64_t chunk = std::max<int64_t>(1, kChunkTerms / std::max<int64_t>(1, red.terms));
  parallel_for_chunks(red.outputs, chunk, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t o = b; o < e; ++o) {
      float s = 0.0f;
      if (other)
        red.for_terms(o, [&](int64_t yo, int64_t oo) { s += g[yo] * other[oo]; });
      else
        red.for_terms(o, [&](int64_t yo, int64_t) { s += g[yo]; });
      r[o] = s;
    }
  });
}

void reduce_ref(const float* g, const Shape& y, const std::vector<int64_t>& st, const float* other,
                const std::vector<int64_t>& ost, float* r, int64_t rsize) {
  std::fill(r, r + rsize, 0.0f);
  const int64_t n = numel(y);
  for (int64_t i = 0; i < n; ++i) {
    const float m = other ? other[operand_offset(i, y, ost)] : 1.0f;
    r[operand_offset(i, y, st)] += other ? g[i] * m : g[i];
  }
}

void check_same(const Shape& a, const Shape& b, const char* fn, const char* what) {
  if (a != b)
    throw Error(std::string(fn) + ": " + what + " has shape " + shape_to_string(a) + ", expected " +
                shape_to_string(b));
}

}  // namespace

void reduce_to_shape_f32(ViewF32 g, MutViewF32 r) {
  const std::vector<int64_t> st = operand_strides(r.shape, g.shape, "reduce_to_shape");
  reduce_fast(g.data, g.shape, st, nullptr, {}, r.data, r.size());
}

void reduce_to_shape_f32_ref(ViewF32 g, MutViewF32 r) {
  const std::vector<int64_t> st = operand_strides(r.shape, g.shape, "reduce_to_shape_ref");
  reduce_ref(g.data, g.shape, st, nullptr, {}, r.data, r.size());
}

void mul_backward_f32(ViewF32 a, ViewF32 b, ViewF32 gy, MutViewF32* ga, MutViewF32* gb) {
  check_same(gy.shape, broadcast_shape(a.shape, b.shape), "mul_backward", "gy");
  const std::vector<int64_t> sa = operand_strides(a.shape, gy.shape, "mul_backward"),
                             sb = operand_strides(b.shape, gy.shape, "mul_backward");
  if (ga) {
    check_same(ga->shape, a.shape, "mul_backward", "ga");
    reduce_fast(gy.data, gy.shape, sa, b.data, sb, ga->data, ga->size());
  }
  if (gb) {
    check_same(gb->shape, b.shape, "mul_backward", "gb");
    reduce_fast(gy.data, gy.shape, sb, a.data, sa, gb->data, gb->size());
  }
}

void mul_backward_f32_ref(ViewF32 a, ViewF32 b, ViewF32 gy, MutViewF32* ga, MutViewF32* gb) {
  check_same(gy.shape, broadcast_shape(a.shape, b.shape), "mul_backward_ref", "gy");
  const std::vector<int64_t> sa = operand_strides(a.shape, gy.shape, "mul_backward_ref"),
                             sb = operand_strides(b.shape, gy.shape, "mul_backward_ref");
  if (ga) {
    check_same(ga->shape, a.shape, "mul_backward_ref", "ga");
    reduce_ref(gy.data, gy.shape, sa, b.data, sb, ga->data, ga->size());
  }
  if (gb) {
    check_same(gb->shape, b.shape, "mul_backward_ref", "gb");
    reduce_ref(gy.data, gy.shape, sb, a.data, sa, gb->data, gb->size());
  }
}

namespace {

// gy's strides in x's index space (the reduced dims broadcast) and the reduced count.
std::vector<int64_t> mean_grad_strides(const Shape& x, const Shape& gy, const std::vector<int64_t>& dims, bool keepdim,
                                       int64_t& count, const char* fn) {
  check_same(gy, mean_output_shape(x, dims, keepdim), fn, "gy");
  Shape keep = mean_output_shape(x, dims, true);
  count = 1;
  for (size_t d = 0; d < x.size(); ++d)
    if (keep[d] == 1 && x[d] != 1) count *= x[d];
  return operand_strides(keep, x, fn);
}

}  // namespace

void mean_backward_f32(ViewF32 gy, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 gx) {
  int64_t count = 1;
  const std::vector<int64_t> st = mean_grad_strides(gx.shape, gy.shape, dims, keepdim, count, "mean_backward");
  const float c = static_cast<float>(count);
  const Shape& xs = gx.shape;
  parallel_for_chunks(gx.size(), kChunkTerms, [&](int64_t b, int64_t e, int64_t) {
    // odometer over x's coordinates from element b
    std::vector<int64_t> idx(xs.size(), 0);
    int64_t rem = b, off = 0;
    for (size_t d = xs.size(); d-- > 0;) {
      idx[d] = rem % xs[d];
      rem /= xs[d];
      off += idx[d] * st[d];
    }
    for (int64_t i = b; i < e; ++i) {
      gx.data[i] = gy.data[off] / c;
      for (size_t d = xs.size(); d-- > 0;) {
        off += st[d];
        if (++idx[d] < xs[d]) break;
        off -= idx[d] * st[d];
        idx[d] = 0;
      }
    }
  });
}

void mean_backward_f32_ref(ViewF32 gy, const std::vector<int64_t>& dims, bool keepdim, MutViewF32 gx) {
  int64_t count = 1;
  const std::vector<int64_t> st = mean_grad_strides(gx.shape, gy.shape, dims, keepdim, count, "mean_backward_ref");
  for (int64_t i = 0; i < gx.size(); ++i)
    gx.data[i] = gy.data[operand_offset(i, gx.shape, st)] / static_cast<float>(count);
}

}  // namespace mqcalib
