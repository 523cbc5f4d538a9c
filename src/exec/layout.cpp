// mqcalib/src/exec/layout.cpp: cat, split/chunk, transpose (permute), flatten/reshape shapes.
// Pure data movement: fast and reference kernels give bit-identical results.
#include <algorithm>
#include <cstring>
#include <string>

#include "core/parallel.h"
#include "exec/kernels.h"

namespace mqcalib {

namespace {

constexpr int64_t kCopyChunkRows = 64;  // outer rows per parallel chunk

}  // namespace

int64_t normalize_axis(int64_t axis, int rank, const char* what) {
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw Error(std::string(what) + ": axis " + std::to_string(axis) + " out of range for rank " +
                std::to_string(rank));
  return a;
}

Shape cat_output_shape(const std::vector<Shape>& xs, int64_t axis) {
  if (xs.empty()) throw Error("cat: no inputs");
  const int rank = static_cast<int>(xs[0].size());
  const int64_t a = normalize_axis(axis, rank, "cat");
  Shape out = xs[0];
  out[a] = 0;
  for (const Shape& s : xs) {
    bool ok = static_cast<int>(s.size()) == rank;
    for (int d = 0; ok && d < rank; ++d) ok = d == a || s[d] == xs[0][d];
    if (!ok)
      throw Error("cat: input " + shape_to_string(s) + " does not match " + shape_to_string(xs[0]) + " off axis " +
                  std::to_string(a));
    out[a] += s[a];
  }
  return out;
}

namespace {

void check_cat(const std::vector<ViewF32>& xs, int64_t axis, const MutViewF32& y, int64_t& a, int64_t& outer,
               int64_t& inner) {
  std::vector<Shape> shapes;
  for (const ViewF32& v : xs) shapes.push_back(v.shape);
  const Shape out = cat_output_shape(shapes, axis);
  if (y.shape != out)
    throw Error("cat: output buffer " + shape_to_string(y.shape) + " but expected " + shape_to_string(out));
  a = normalize_axis(axis, static_cast<int>(out.size()), "cat");
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < a; ++d) outer *= out[d];
  for (size_t d = static_cast<size_t>(a) + 1; d < out.size(); ++d) inner *= out[d];
}

}  // namespace

void cat_f32(const std::vector<ViewF32>& xs, int64_t axis, MutViewF32 y) {
  int64_t a, outer, inner;
  check_cat(xs, axis, y, a, outer, inner);
  const int64_t ytot = y.shape[a] * inner;
  parallel_for_chunks(outer, kCopyChunkRows, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t o = b; o < e; ++o) {
      int64_t off = 0;
      for (const ViewF32& x : xs) {
        const int64_t len = x.shape[a] * inner;
        std::memcpy(y.data + o * ytot + off, x.data + o * len, sizeof(float) * static_cast<size_t>(len));
        off += len;
      }
    }
  });
}

void cat_f32_ref(const std::vector<ViewF32>& xs, int64_t axis, MutViewF32 y) {
  int64_t a, outer, inner;
  check_cat(xs, axis, y, a, outer, inner);
  const int64_t ytot = y.shape[a] * inner;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off = 0;
    for (const ViewF32& x : xs) {
      const int64_t len = x.shape[a] * inner;
      for (int64_t k = 0; k < len; ++k) y.data[o * ytot + off + k] = x.data[o * len + k];
      off += len;
    }
  }
}

std::vector<int64_t> chunk_sizes(int64_t n, int64_t chunks) {
  if (chunks < 1) throw Error("chunk: number of chunks must be positive, got " + std::to_string(chunks));
  const int64_t each = (n + chunks - 1) / chunks;
  std::vector<int64_t> sizes;
  if (n == 0) return {0};
  for (int64_t done = 0; done < n; done += each) sizes.push_back(std::min(each, n - done));
  return sizes;
}

namespace {

void check_split(const ViewF32& x, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<MutViewF32>& ys,
                 int64_t& a, int64_t& outer, int64_t& inner) {
  a = normalize_axis(axis, x.rank(), "split");
  if (sizes.size() != ys.size())
    throw Error("split: " + std::to_string(sizes.size()) + " sizes but " + std::to_string(ys.size()) + " outputs");
  int64_t total = 0;
  for (size_t k = 0; k < sizes.size(); ++k) {
    Shape s = x.shape;
    s[a] = sizes[k];
    if (ys[k].shape != s)
      throw Error("split: output " + std::to_string(k) + " is " + shape_to_string(ys[k].shape) + " but expected " +
                  shape_to_string(s));
    total += sizes[k];
  }
  if (total != x.shape[a])
    throw Error("split: sections sum to " + std::to_string(total) + " but the dim is " + std::to_string(x.shape[a]));
  outer = 1;
  inner = 1;
  for (int64_t d = 0; d < a; ++d) outer *= x.shape[d];
  for (int64_t d = a + 1; d < x.rank(); ++d) inner *= x.shape[d];
}

}  // namespace

void split_f32(ViewF32 x, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<MutViewF32>& ys) {
  int64_t a, outer, inner;
  check_split(x, axis, sizes, ys, a, outer, inner);
  const int64_t xtot = x.shape[a] * inner;
  parallel_for_chunks(outer, kCopyChunkRows, [&](int64_t b, int64_t e, int64_t) {
    for (int64_t o = b; o < e; ++o) {
      int64_t off = 0;
      for (size_t k = 0; k < ys.size(); ++k) {
        const int64_t len = sizes[k] * inner;
        std::memcpy(ys[k].data + o * len, x.data + o * xtot + off, sizeof(float) * static_cast<size_t>(len));
        off += len;
      }
    }
  });
}

void split_f32_ref(ViewF32 x, int64_t axis, const std::vector<int64_t>& sizes, const std::vector<MutViewF32>& ys) {
  int64_t a, outer, inner;
  check_split(x, axis, sizes, ys, a, outer, inner);
  const int64_t xtot = x.shape[a] * inner;
  for (int64_t o = 0; o < outer; ++o) {
    int64_t off = 0;
    for (size_t k = 0; k < ys.size(); ++k) {
      const int64_t len = sizes[k] * inner;
      for (int64_t i = 0; i < len; ++i) ys[k].data[o * len + i] = x.data[o * xtot + off + i];
      off += len;
    }
  }
}

Shape transpose_output_shape(const Shape& x, const std::vector<int64_t>& perm) {
  if (perm.size() != x.size())
    throw Error("transpose: permutation of length " + std::to_string(perm.size()) + " for input " + shape_to_string(x));
  std::vector<bool> seen(x.size(), false);
  Shape out(x.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    const int64_t p = normalize_axis(perm[d], static_cast<int>(x.size()), "transpose");
    if (seen[p]) throw Error("transpose: dims is not a permutation");
    seen[p] = true;
    out[d] = x[p];
  }
  return out;
}

namespace {

// Input strides of each output dim.
std::vector<int64_t> permuted_strides(const Shape& x, const std::vector<int64_t>& perm) {
  const int r = static_cast<int>(x.size());
  std::vector<int64_t> st(x.size());
  int64_t acc = 1;
  for (int d = r - 1; d >= 0; --d) {
    st[d] = acc;
    acc *= x[d];
  }
  std::vector<int64_t> out(x.size());
  for (size_t d = 0; d < perm.size(); ++d) out[d] = st[normalize_axis(perm[d], r, "transpose")];
  return out;
}

}  // namespace

void transpose_f32(ViewF32 x, const std::vector<int64_t>& perm, MutViewF32 y) {
  if (y.shape != transpose_output_shape(x.shape, perm)) throw Error("transpose: output buffer shape mismatch");
  const std::vector<int64_t> st = permuted_strides(x.shape, perm);
  const size_t r = y.shape.size();
  if (y.size() == 0) return;
  if (r == 0) {
    y.data[0] = x.data[0];
    return;
  }
  const int64_t inner = y.shape[r - 1], is = st[r - 1];
  const int64_t rows = y.size() / inner;
  parallel_for_chunks(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t b, int64_t e, int64_t) {
    for (int64_t row = b; row < e; ++row) {
      int64_t rem = row, off = 0;
      for (size_t d = r - 1; d-- > 0;) {
        off += (rem % y.shape[d]) * st[d];
        rem /= y.shape[d];
      }
      float* yp = y.data + row * inner;
      for (int64_t i = 0; i < inner; ++i) yp[i] = x.data[off + i * is];
    }
  });
}

void transpose_f32_ref(ViewF32 x, const std::vector<int64_t>& perm, MutViewF32 y) {
  if (y.shape != transpose_output_shape(x.shape, perm)) throw Error("transpose: output buffer shape mismatch");
  const std::vector<int64_t> st = permuted_strides(x.shape, perm);
  const size_t r = y.shape.size();
  for (int64_t flat = 0; flat < y.size(); ++flat) {
    int64_t rem = flat, off = 0;
    for (size_t d = r; d-- > 0;) {
      off += (rem % y.shape[d]) * st[d];
      rem /= y.shape[d];
    }
    y.data[flat] = x.data[off];
  }
}

Shape flatten_output_shape(const Shape& x, int64_t start_dim, int64_t end_dim) {
  if (x.empty()) return {1};
  const int r = static_cast<int>(x.size());
  const int64_t s = normalize_axis(start_dim, r, "flatten"), e = normalize_axis(end_dim, r, "flatten");
  if (s > e) throw Error("flatten: start_dim after end_dim");
  Shape out(x.begin(), x.begin() + s);
  int64_t m = 1;
  for (int64_t d = s; d <= e; ++d) m *= x[d];
  out.push_back(m);
  out.insert(out.end(), x.begin() + e + 1, x.end());
  return out;
}

Shape reshape_output_shape(const Shape& x, const std::vector<int64_t>& dims) {
  const int64_t n = numel(x);
  Shape out(dims.begin(), dims.end());
  int64_t known = 1, infer = -1;
  for (size_t d = 0; d < out.size(); ++d) {
    if (out[d] == -1) {
      if (infer >= 0) throw Error("reshape: more than one -1 in " + shape_to_string(out));
      infer = static_cast<int64_t>(d);
    } else if (out[d] < 0) {
      throw Error("reshape: negative size in " + shape_to_string(out));
    } else {
      known *= out[d];
    }
  }
  if (infer >= 0) {
    if (known == 0 || n % known != 0)
      throw Error("reshape: cannot reshape " + shape_to_string(x) + " into " + shape_to_string(out));
    out[infer] = n / known;
  }
  if (numel(out) != n) throw Error("reshape: cannot reshape " + shape_to_string(x) + " into " + shape_to_string(out));
  return out;
}

}  // namespace mqcalib
