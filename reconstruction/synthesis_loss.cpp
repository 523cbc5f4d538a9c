// mqcalib/reconstruction/synthesis_loss.cpp: see synthesis_loss.h (formulas there).
#include "reconstruction/synthesis_loss.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/parallel.h"

namespace mqcalib {

namespace {

constexpr int64_t kRowsPerChunk = 16;  // (b, c) rows per parallel chunk: fixed, whatever the thread count

struct Rows {
  int64_t batch, channels, per_row;
};

Rows rows_of(ViewF32 x, int64_t min_per_row, const char* what) {
  if (x.rank() < 2) throw Error(std::string(what) + ": needs [B, C, ...], got " + shape_to_string(x.shape));
  Rows r{x.shape[0], x.shape[1], x.size() / std::max<int64_t>(1, x.shape[0] * x.shape[1])};
  if (r.per_row < min_per_row)
    throw Error(std::string(what) + ": needs at least " + std::to_string(min_per_row) + " elements per channel, got " +
                shape_to_string(x.shape));
  return r;
}

// A row's loss term from its mean and std, (mean - m)^2 + (std - sd)^2 over the batch, and its
// gradient added to g (when given).
double bn_row_term(const float* x, int64_t s, double mean, double std, double m, double sd, double inv_b, float weight,
                   float* g) {
  const double dm = mean - m, ds = std - sd;
  if (g) {
    const double a = 2.0 * dm * inv_b / static_cast<double>(s);
    const double c = 2.0 * ds * inv_b / (static_cast<double>(s - 1) * std);
    for (int64_t j = 0; j < s; ++j) g[j] += static_cast<float>(weight * (a + c * (x[j] - mean)));
  }
  return (dm * dm + ds * ds) * inv_b;
}

// One (b, c) row of the BN-statistics loss: returns its loss term and adds its gradient.
double bn_row(const float* x, int64_t s, double m, double sd, double eps, double inv_b, float weight, float* g) {
  double mean = 0.0;
  for (int64_t j = 0; j < s; ++j) mean += x[j];
  mean /= static_cast<double>(s);
  double ss = 0.0;
  for (int64_t j = 0; j < s; ++j) ss += (x[j] - mean) * (x[j] - mean);
  const double std = std::sqrt(ss / static_cast<double>(s - 1) + eps);
  return bn_row_term(x, s, mean, std, m, sd, inv_b, weight, g);
}

// sum_j (x[j] - shift)^p for p = 1 or 2 in 8 double partial sums (lane j mod 8, so the compiler keeps
// them in vector registers instead of one latency-bound chain), combined pairwise, then the tail.
template <int P>
double lane_sum(const float* x, int64_t s, double shift) {
  double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= s; j += 8)
    for (int l = 0; l < 8; ++l) {
      const double d = x[j + l] - shift;
      lane[l] += P == 1 ? d : d * d;
    }
  double t = ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7]));
  for (; j < s; ++j) {
    const double d = x[j] - shift;
    t += P == 1 ? d : d * d;
  }
  return t;
}

// bn_row with the sums of lane_sum: the same formula, its sums in another order (the _ref's bn_row sums
// serially).
double bn_row_fast(const float* x, int64_t s, double m, double sd, double eps, double inv_b, float weight, float* g) {
  const double mean = lane_sum<1>(x, s, 0.0) / static_cast<double>(s);
  const double std = std::sqrt(lane_sum<2>(x, s, mean) / static_cast<double>(s - 1) + eps);
  return bn_row_term(x, s, mean, std, m, sd, inv_b, weight, g);
}

double tv_row(const float* x, int64_t h, int64_t w, double inv_b, float weight, float* g) {
  double l = 0.0;
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) {
      const double v = x[i * w + j];
      if (i + 1 < h) {
        const double d = x[(i + 1) * w + j] - v;
        l += d * d;
        if (g) {
          g[(i + 1) * w + j] += static_cast<float>(weight * 2.0 * d * inv_b);
          g[i * w + j] -= static_cast<float>(weight * 2.0 * d * inv_b);
        }
      }
      if (j + 1 < w) {
        const double d = x[i * w + j + 1] - v;
        l += d * d;
        if (g) {
          g[i * w + j + 1] += static_cast<float>(weight * 2.0 * d * inv_b);
          g[i * w + j] -= static_cast<float>(weight * 2.0 * d * inv_b);
        }
      }
    }
  return l * inv_b;
}

double ce_row(const float* z, int64_t k, int64_t t, double inv_b, float weight, float* g) {
  double mx = z[0];
  for (int64_t j = 1; j < k; ++j) mx = std::max<double>(mx, z[j]);
  double se = 0.0;
  for (int64_t j = 0; j < k; ++j) se += std::exp(z[j] - mx);
  if (g)
    for (int64_t j = 0; j < k; ++j)
      g[j] += static_cast<float>(weight * (std::exp(z[j] - mx) / se - (j == t ? 1.0 : 0.0)) * inv_b);
  return -(z[t] - mx - std::log(se)) * inv_b;
}

// Sum over rows [0, n) of row(r), in chunks of kRowsPerChunk merged in chunk order.
template <class Row>
double chunked_sum(int64_t n, Row row) {
  std::vector<double> part(static_cast<size_t>(num_chunks(n, kRowsPerChunk)), 0.0);
  parallel_for_chunks(n, kRowsPerChunk, [&](int64_t b, int64_t e, int64_t k) {
    double s = 0.0;
    for (int64_t r = b; r < e; ++r) s += row(r);
    part[static_cast<size_t>(k)] = s;
  });
  double total = 0.0;
  for (double p : part) total += p;
  return total;
}

void check_targets(const int64_t* t, int64_t b, int64_t k) {
  for (int64_t i = 0; i < b; ++i)
    if (t[i] < 0 || t[i] >= k)
      throw Error("cross entropy: target " + std::to_string(t[i]) + " of image " + std::to_string(i) + " outside [0, " +
                  std::to_string(k) + ")");
}

}  // namespace

double bn_stats_loss_f32(ViewF32 x, const float* mean, const float* std, double eps, float weight, float* grad) {
  const Rows r = rows_of(x, 2, "BN-statistics loss");
  const double inv_b = 1.0 / static_cast<double>(r.batch);
  return chunked_sum(r.batch * r.channels, [&](int64_t row) {
    const int64_t c = row % r.channels;
    return bn_row_fast(x.data + row * r.per_row, r.per_row, mean[c], std[c], eps, inv_b, weight,
                       grad ? grad + row * r.per_row : nullptr);
  });
}

double bn_stats_loss_f32_ref(ViewF32 x, const float* mean, const float* std, double eps, float weight, float* grad) {
  const Rows r = rows_of(x, 2, "BN-statistics loss");
  const double inv_b = 1.0 / static_cast<double>(r.batch);
  double l = 0.0;
  for (int64_t row = 0; row < r.batch * r.channels; ++row)
    l += bn_row(x.data + row * r.per_row, r.per_row, mean[row % r.channels], std[row % r.channels], eps, inv_b, weight,
                grad ? grad + row * r.per_row : nullptr);
  return l;
}

double total_variation_f32(ViewF32 x, float weight, float* grad) {
  if (x.rank() != 4) throw Error("total variation: needs [B, C, H, W], got " + shape_to_string(x.shape));
  const int64_t h = x.shape[2], w = x.shape[3], hw = h * w;
  const double inv_b = 1.0 / static_cast<double>(x.shape[0]);
  return chunked_sum(x.shape[0] * x.shape[1], [&](int64_t row) {
    return tv_row(x.data + row * hw, h, w, inv_b, weight, grad ? grad + row * hw : nullptr);
  });
}

double total_variation_f32_ref(ViewF32 x, float weight, float* grad) {
  if (x.rank() != 4) throw Error("total variation: needs [B, C, H, W], got " + shape_to_string(x.shape));
  const int64_t h = x.shape[2], w = x.shape[3], hw = h * w;
  double l = 0.0;
  for (int64_t row = 0; row < x.shape[0] * x.shape[1]; ++row)
    l += tv_row(x.data + row * hw, h, w, 1.0 / static_cast<double>(x.shape[0]), weight,
                grad ? grad + row * hw : nullptr);
  return l;
}

double cross_entropy_f32(ViewF32 z, const int64_t* targets, float weight, float* grad) {
  if (z.rank() != 2) throw Error("cross entropy: needs logits [B, K], got " + shape_to_string(z.shape));
  const int64_t b = z.shape[0], k = z.shape[1];
  check_targets(targets, b, k);
  const double inv_b = 1.0 / static_cast<double>(b);
  return chunked_sum(b, [&](int64_t i) {
    return ce_row(z.data + i * k, k, targets[i], inv_b, weight, grad ? grad + i * k : nullptr);
  });
}

double cross_entropy_f32_ref(ViewF32 z, const int64_t* targets, float weight, float* grad) {
  if (z.rank() != 2) throw Error("cross entropy: needs logits [B, K], got " + shape_to_string(z.shape));
  const int64_t b = z.shape[0], k = z.shape[1];
  check_targets(targets, b, k);
  double l = 0.0;
  for (int64_t i = 0; i < b; ++i)
    l += ce_row(z.data + i * k, k, targets[i], 1.0 / static_cast<double>(b), weight, grad ? grad + i * k : nullptr);
  return l;
}

}  // namespace mqcalib
