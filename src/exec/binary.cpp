// mqcalib/src/exec/binary.cpp: add / mul with numpy broadcasting (residual adds, squeeze-excite).
#include <algorithm>
#include <string>

#include "core/parallel.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kBinaryChunk = 1 << 15;  // output elements per parallel chunk

inline float op(BinaryOp k, float a, float b) { return k == BinaryOp::Add ? a + b : a * b; }

// Strides of `s` (right-aligned to rank r) in the broadcast output: 0 where s is broadcast.
std::vector<int64_t> bcast_strides(const Shape& s, size_t r) {
  std::vector<int64_t> st(r, 0);
  int64_t acc = 1;
  for (size_t k = 0; k < s.size(); ++k) {
    const size_t d = s.size() - 1 - k;
    st[r - 1 - k] = s[d] == 1 ? 0 : acc;
    acc *= s[d];
  }
  return st;
}

void check_binary(const ViewF32& a, const ViewF32& b, const MutViewF32& y) {
  const Shape s = broadcast_shape(a.shape, b.shape);
  if (y.shape != s)
    throw Error("add/mul: output " + shape_to_string(y.shape) + " but broadcast shape is " + shape_to_string(s));
}

}  // namespace

Shape broadcast_shape(const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (da != db && da != 1 && db != 1)
      throw Error("broadcast: shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " are not broadcastable");
    out[r - 1 - k] = da == 1 ? db : da;
  }
  return out;
}

// Dims are coalesced (adjacent dims merged when both operands' strides allow it), so the common
// cases become one flat loop (same shapes), [rows, inner] with a per-row scalar (squeeze-excite
// [N,C,H,W] * [N,C,1,1]) or a row vector (bias-like). Same per-element formula as the reference.
void binary_f32(BinaryOp k, ViewF32 a, ViewF32 b, MutViewF32 y) {
  check_binary(a, b, y);
  const size_t r = y.shape.size();
  std::vector<int64_t> sa = bcast_strides(a.shape, r), sb = bcast_strides(b.shape, r);
  // coalesce
  std::vector<int64_t> dims, ca, cb;
  for (size_t d = 0; d < r; ++d) {
    if (y.shape[d] == 1) continue;
    if (!dims.empty() && ca.back() == sa[d] * y.shape[d] && cb.back() == sb[d] * y.shape[d]) {
      dims.back() *= y.shape[d];
      ca.back() = sa[d];
      cb.back() = sb[d];
    } else {
      dims.push_back(y.shape[d]);
      ca.push_back(sa[d]);
      cb.push_back(sb[d]);
    }
  }
  const int64_t total = y.size();
  if (total == 0) return;
  if (dims.empty()) {
    y.data[0] = op(k, a.data[0], b.data[0]);
    return;
  }
  const size_t cr = dims.size();
  const int64_t inner = dims.back(), ia = ca.back(), ib = cb.back();
  const int64_t rows = total / inner;
  const int64_t chunk_rows = std::max<int64_t>(1, kBinaryChunk / inner);
  parallel_for_chunks(rows, chunk_rows, [&](int64_t rb, int64_t re, int64_t) {
    std::vector<int64_t> idx(cr, 0);
    for (int64_t row = rb; row < re; ++row) {
      // offsets of this row
      int64_t rem = row, oa = 0, ob = 0;
      for (size_t d = cr - 1; d-- > 0;) {
        const int64_t i = rem % dims[d];
        rem /= dims[d];
        oa += i * ca[d];
        ob += i * cb[d];
      }
      const float* pa = a.data + oa;
      const float* pb = b.data + ob;
      float* py = y.data + row * inner;
      if (ia == 1 && ib == 1) {
        if (k == BinaryOp::Add)
          for (int64_t i = 0; i < inner; ++i) py[i] = pa[i] + pb[i];
        else
          for (int64_t i = 0; i < inner; ++i) py[i] = pa[i] * pb[i];
      } else if (ia == 1 && ib == 0) {
        const float bv = pb[0];
        if (k == BinaryOp::Add)
          for (int64_t i = 0; i < inner; ++i) py[i] = pa[i] + bv;
        else
          for (int64_t i = 0; i < inner; ++i) py[i] = pa[i] * bv;
      } else if (ia == 0 && ib == 1) {
        const float av = pa[0];
        if (k == BinaryOp::Add)
          for (int64_t i = 0; i < inner; ++i) py[i] = av + pb[i];
        else
          for (int64_t i = 0; i < inner; ++i) py[i] = av * pb[i];
      } else {
        for (int64_t i = 0; i < inner; ++i) py[i] = op(k, pa[i * ia], pb[i * ib]);
      }
    }
  });
}

void binary_f32_ref(BinaryOp k, ViewF32 a, ViewF32 b, MutViewF32 y) {
  check_binary(a, b, y);
  const size_t r = y.shape.size();
  const std::vector<int64_t> sa = bcast_strides(a.shape, r), sb = bcast_strides(b.shape, r);
  for (int64_t flat = 0; flat < y.size(); ++flat) {
    int64_t rem = flat, oa = 0, ob = 0;
    for (size_t d = r; d-- > 0;) {
      const int64_t i = rem % y.shape[d];
      rem /= y.shape[d];
      oa += i * sa[d];
      ob += i * sb[d];
    }
    y.data[flat] = op(k, a.data[oa], b.data[ob]);
  }
}

void binary_scalar_f32(BinaryOp k, ViewF32 a, float s, MutViewF32 y) {
  if (y.shape != a.shape) throw Error("add/mul (scalar): output shape differs from input " + shape_to_string(a.shape));
  parallel_for_chunks(a.size(), kBinaryChunk, [&](int64_t b, int64_t e, int64_t) {
    if (k == BinaryOp::Add)
      for (int64_t i = b; i < e; ++i) y.data[i] = a.data[i] + s;
    else
      for (int64_t i = b; i < e; ++i) y.data[i] = a.data[i] * s;
  });
}

void binary_scalar_f32_ref(BinaryOp k, ViewF32 a, float s, MutViewF32 y) {
  if (y.shape != a.shape) throw Error("add/mul (scalar): output shape differs from input " + shape_to_string(a.shape));
  for (int64_t i = 0; i < a.size(); ++i) y.data[i] = op(k, a.data[i], s);
}

}  // namespace mqcalib
