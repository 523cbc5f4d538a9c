// mqcalib/calibrators/kl_search.cpp: the KL (entropy) threshold search of the kl observer
// (calibrators/kl.cpp documents the variant: P, Q, the smoothing, the candidates and the ties).
//
// Three implementations of one quantity, KL(P_i || Q_i) of candidate i:
//   kl_divergence_ref      builds the smoothed P and Q explicitly (the reference twin of the tests);
//   kl_divergence_by_bins  one pass over the non-empty bins of P (no P / Q arrays), O(i);
//   kl_divergence_series   O(1) from tables built once per histogram (the search's path).
//
// The O(1) form. Write c_k for P's counts (h_k, bin i-1 also holding the outside mass), e_p and e_q
// for P's and Q's smoothing deductions (kl.cpp: eps * zeros / non-zeros), N and N_i for the totals of
// P and Q, and for group g (m = floor(i / levels) bins, the last one up to i) s_g and c_g its mass in
// h and its non-empty bins. Bins empty in P contribute (eps / N) log(N_i / N) each; the others
//     N * KL = sum_k (c_k - e_p) log(c_k - e_p) - sum_g L_g (s_g - c_g e_p),
//     L_g = log(s_g / c_g) + log(1 - c_g e_q / s_g) + log(N / N_i)            (full groups; s_g >= c_g)
// When e_p and e_q are below kSeriesMax, both logs of a difference are Taylor series to 4th order
// (truncation below e^5 / 5 < 2e-16 relative):
//     (c - e) log(c - e) = c log c - e (log c + 1) + e^2 / (2c) + e^3 / (6c^2) + e^4 / (12c^3)
//     log(1 - r e_q)     = -sum_{j=1..4} (r e_q)^j / j,  r = c_g / s_g <= 1,
// so the first sum is five prefix sums over bins < i - 1 (bin i - 1, holding the tail, is taken
// directly), and the full groups' sum is, per group width m, l_s - e_p l_c + log(N / N_i) (S - e_p C)
// - sum_j (e_q^j / j)(M_{j-1} - e_p M_j) with l_s = sum l_g s_g, l_c = sum l_g c_g, S = sum s_g,
// C = sum c_g, M_k = sum c_g r_g^k over the full groups of that m (they do not depend on i within
// m * levels <= i < (m + 1) * levels). The last group is taken directly. The two big sums are close
// (their difference is N * KL), so the tables and the combination are in long double (64-bit
// mantissa). Sparse histograms (e >= kSeriesMax: more than 90% of the bins below i empty) take the
// O(i) pass instead. Candidates are independent: each value is computed alone into its own slot, so
// the result does not depend on the thread count or schedule.
#include <algorithm>
#include <cmath>
#include <limits>

#include "calibrators/kl.h"

namespace mqcalib::calib {

namespace {

// Below this, the Taylor series of log(1 - u) to 4th order is exact to double precision.
constexpr double kSeriesMax = 1e-3;

// MXNet / TVM _smooth_distribution on counts: zero bins get eps, non-zero bins lose
// eps * n_zero / n_nonzero (the total is unchanged).
void smooth(std::vector<double>& v) {
  double nz = 0;
  for (double x : v) nz += x > 0 ? 1 : 0;
  const double z = static_cast<double>(v.size()) - nz;
  const double eps1 = nz > 0 ? kKlSmoothEps * z / nz : 0.0;
  for (double& x : v) x = x > 0 ? x - eps1 : kKlSmoothEps;
}

// log(c - e) for a bin count c >= 1 and the smoothing deduction e >= 0, from log(c): log(c) +
// log1p(-u), u = e / c, with log1p's series when u < kSeriesMax.
inline double log_count_minus(double log_c, double c, double e) {
  const double u = e / c;
  if (u < kSeriesMax) return log_c - u * (1.0 + u * (0.5 + u * (1.0 / 3.0 + u * 0.25)));
  return log_c + std::log1p(-u);
}

// Built once per histogram, O(bins).
struct KlTables {
  std::vector<uint64_t> cum, nzc;  // prefix sums of the counts and of the non-empty bins
  std::vector<double> log_h;       // log(h_k) on non-empty bins, 0 elsewhere
  // Prefix sums over the non-empty bins of c log c, log c, 1/c, 1/c^2, 1/c^3.
  std::vector<long double> c_log_c, log_c, inv_c, inv_c2, inv_c3;
};

// The full groups' sums of one group width m (header).
struct KlGroupSums {
  long double l_s = 0, l_c = 0, s = 0, c = 0;
  long double moment[5] = {};  // M_k = sum c_g r_g^k, k = 0..4
};

KlTables build_tables(const std::vector<uint64_t>& h) {
  const size_t n = h.size();
  KlTables t;
  t.cum.assign(n + 1, 0);
  t.nzc.assign(n + 1, 0);
  t.log_h.assign(n, 0.0);
  for (auto* v : {&t.c_log_c, &t.log_c, &t.inv_c, &t.inv_c2, &t.inv_c3}) v->assign(n + 1, 0.0L);
  for (size_t k = 0; k < n; ++k) {
    const uint64_t c = h[k];
    t.cum[k + 1] = t.cum[k] + c;
    t.nzc[k + 1] = t.nzc[k] + (c > 0 ? 1 : 0);
    long double cl = 0, l = 0, i1 = 0;
    if (c > 0) {
      t.log_h[k] = std::log(static_cast<double>(c));
      l = t.log_h[k];
      cl = static_cast<long double>(c) * l;
      i1 = 1.0L / static_cast<long double>(c);
    }
    t.c_log_c[k + 1] = t.c_log_c[k] + cl;
    t.log_c[k + 1] = t.log_c[k] + l;
    t.inv_c[k + 1] = t.inv_c[k] + i1;
    t.inv_c2[k + 1] = t.inv_c2[k] + i1 * i1;
    t.inv_c3[k + 1] = t.inv_c3[k] + i1 * i1 * i1;
  }
  return t;
}

KlGroupSums group_sums(const KlTables& t, int m, int levels) {
  KlGroupSums g;
  for (int j = 0; j + 1 < levels; ++j) {
    const size_t s = static_cast<size_t>(j) * static_cast<size_t>(m), e = s + static_cast<size_t>(m);
    const uint64_t sg = t.cum[e] - t.cum[s], cg = t.nzc[e] - t.nzc[s];
    if (cg == 0) continue;
    const long double ds = static_cast<long double>(sg), dc = static_cast<long double>(cg);
    const long double l = std::log(static_cast<double>(sg)) - std::log(static_cast<double>(cg));
    g.l_s += l * ds;
    g.l_c += l * dc;
    g.s += ds;
    g.c += dc;
    const long double r = dc / ds;
    long double term = dc;
    for (long double& mk : g.moment) mk += term, term *= r;
  }
  return g;
}

}  // namespace

double kl_divergence_ref(const std::vector<uint64_t>& h, int i, int levels) {
  const size_t n = h.size();
  std::vector<double> p(h.begin(), h.begin() + i), qsrc(h.begin(), h.begin() + i);
  double tail = 0;
  for (size_t k = static_cast<size_t>(i); k < n; ++k) tail += static_cast<double>(h[k]);
  p[static_cast<size_t>(i - 1)] += tail;
  const int m = i / levels;
  std::vector<double> q(static_cast<size_t>(i), 0.0);
  for (int g = 0; g < levels; ++g) {
    const int s = g * m, e = g == levels - 1 ? i : s + m;
    double sum = 0, nz = 0;
    for (int k = s; k < e; ++k) {
      sum += qsrc[static_cast<size_t>(k)];
      if (p[static_cast<size_t>(k)] > 0) nz += 1;
    }
    for (int k = s; k < e; ++k)
      if (p[static_cast<size_t>(k)] > 0) q[static_cast<size_t>(k)] = sum / nz;
  }
  double sq0 = 0;
  for (double v : q) sq0 += v;
  if (sq0 == 0) return std::numeric_limits<double>::infinity();  // nothing inside [0, T): no Q at all
  smooth(p);
  smooth(q);
  double sp = 0, sq = 0;
  for (int k = 0; k < i; ++k) sp += p[static_cast<size_t>(k)], sq += q[static_cast<size_t>(k)];
  double kl = 0;
  for (int k = 0; k < i; ++k) {
    const double pk = p[static_cast<size_t>(k)] / sp, qk = q[static_cast<size_t>(k)] / sq;
    kl += pk * std::log(pk / qk);
  }
  return kl;
}

namespace {

// What every form needs of candidate i besides the tables.
struct KlCandidate {
  int i = 0, m = 0, last_start = 0;  // last group: bins [last_start, i)
  uint64_t tail = 0, ni = 0, total = 0;
  bool last_from_tail = false;  // bin i - 1 is non-empty in P only because of the outside mass
  double nz_p = 0, nz_q = 0, e_p = 0, e_q = 0;
};

KlCandidate candidate(const std::vector<uint64_t>& h, const KlTables& t, int i, int levels) {
  KlCandidate c;
  const size_t n = h.size(), ui = static_cast<size_t>(i);
  c.i = i;
  c.m = i / levels;
  c.last_start = (levels - 1) * c.m;
  c.total = t.cum[n];
  c.ni = t.cum[ui];
  c.tail = c.total - c.ni;
  c.last_from_tail = h[ui - 1] == 0 && c.tail > 0;
  c.nz_p = static_cast<double>(t.nzc[ui]) + (c.last_from_tail ? 1.0 : 0.0);
  // Q's non-empty bins: P's, less bin i - 1 when its group has no mass in h (only it can be so).
  c.nz_q = c.nz_p;
  if (c.last_from_tail && t.cum[ui] == t.cum[static_cast<size_t>(c.last_start)]) c.nz_q -= 1.0;
  c.e_p = kKlSmoothEps * (i - c.nz_p) / c.nz_p;
  c.e_q = kKlSmoothEps * (i - c.nz_q) / c.nz_q;
  return c;
}

// The smoothed Q of a group with h-mass sg over cg non-empty P bins, times N_i.
inline double q_times_ni(uint64_t sg, double cg, double e_q) {
  return sg > 0 ? static_cast<double>(sg) / cg - e_q : kKlSmoothEps;
}

double kl_divergence_by_bins(const std::vector<uint64_t>& h, const KlTables& t, const KlCandidate& c, int levels) {
  const int i = c.i, m = c.m;
  const double inv_n = 1.0 / static_cast<double>(c.total), inv_ni = 1.0 / static_cast<double>(c.ni);
  const double log_inv_n = std::log(inv_n);
  double kl = (i - c.nz_p) * (kKlSmoothEps * inv_n) * std::log((kKlSmoothEps * inv_n) / (kKlSmoothEps * inv_ni));
  for (int g = 0; g < levels; ++g) {
    const int s = g * m, e = g == levels - 1 ? i : s + m;
    const uint64_t sg = t.cum[static_cast<size_t>(e)] - t.cum[static_cast<size_t>(s)];
    double cg = static_cast<double>(t.nzc[static_cast<size_t>(e)] - t.nzc[static_cast<size_t>(s)]);
    if (g == levels - 1 && c.last_from_tail) cg += 1.0;
    if (cg == 0) continue;
    const double log_q_over_inv_n = std::log(q_times_ni(sg, cg, c.e_q) * inv_ni) - log_inv_n;
    for (int k = s; k < e; ++k) {
      uint64_t cnt = h[static_cast<size_t>(k)];
      const bool last = k == i - 1 && c.tail > 0;
      if (last) cnt += c.tail;
      if (cnt == 0) continue;
      const double dc = static_cast<double>(cnt);
      const double pk = (dc - c.e_p) * inv_n;
      const double lc = last ? std::log(dc - c.e_p) : log_count_minus(t.log_h[static_cast<size_t>(k)], dc, c.e_p);
      kl += pk * (lc - log_q_over_inv_n);
    }
  }
  return kl;
}

double kl_divergence_series(const std::vector<uint64_t>& h, const KlTables& t, const KlGroupSums& full,
                            const KlCandidate& c) {
  const size_t ui = static_cast<size_t>(c.i), b = ui - 1;  // prefix tables cover bins < i - 1
  const long double e = c.e_p, eq = c.e_q, n = static_cast<long double>(c.total);
  const long double log_n_over_ni = std::log(static_cast<double>(c.total) / static_cast<double>(c.ni));
  // P side: sum over non-empty bins of (c_k - e_p) log(c_k - e_p).
  long double p_side = t.c_log_c[b] - e * (t.log_c[b] + static_cast<long double>(t.nzc[b])) + e * e / 2 * t.inv_c[b] +
                       e * e * e / 6 * t.inv_c2[b] + e * e * e * e / 12 * t.inv_c3[b];
  const uint64_t c_last = h[b] + c.tail;
  if (c_last > 0) {
    const double d = static_cast<double>(c_last) - c.e_p;
    p_side += static_cast<long double>(d) * std::log(d);
  }
  // Q side, full groups.
  long double q_side = full.l_s - e * full.l_c + log_n_over_ni * (full.s - e * full.c);
  long double eqj = 1;
  for (int j = 1; j <= 4; ++j) {
    eqj *= eq;
    q_side -= eqj / j * (full.moment[j - 1] - e * full.moment[j]);
  }
  // Q side, the last group (it may hold the outside mass in P).
  const size_t s = static_cast<size_t>(c.last_start);
  const uint64_t sg = t.cum[ui] - t.cum[s];
  const double cg = static_cast<double>(t.nzc[ui] - t.nzc[s]) + (c.last_from_tail ? 1.0 : 0.0);
  if (cg > 0) {
    const long double l_last = std::log(q_times_ni(sg, cg, c.e_q)) + log_n_over_ni;
    q_side += l_last * (static_cast<long double>(sg + c.tail) - static_cast<long double>(cg) * e);
  }
  const long double empty = (c.i - c.nz_p) * static_cast<long double>(kKlSmoothEps) * -log_n_over_ni;
  return static_cast<double>((empty + p_side - q_side) / n);
}

}  // namespace

std::vector<double> kl_divergences(const std::vector<uint64_t>& h, int levels) {
  const int n = static_cast<int>(h.size());
  const KlTables t = build_tables(h);
  std::vector<KlGroupSums> full(static_cast<size_t>(n / levels) + 1);
  for (int m = 1; m <= n / levels; ++m) full[static_cast<size_t>(m)] = group_sums(t, m, levels);
  std::vector<double> out(static_cast<size_t>(n - levels + 1));
  const int64_t nc = static_cast<int64_t>(out.size());
  // Dynamic: a sparse candidate (the O(i) pass) costs far more than the others.
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t j = 0; j < nc; ++j) {
    const KlCandidate c = candidate(h, t, levels + static_cast<int>(j), levels);
    double kl;
    if (c.ni == 0) kl = std::numeric_limits<double>::infinity();
    else if (c.e_p < kSeriesMax && c.e_q < kSeriesMax) kl = kl_divergence_series(h, t, full[static_cast<size_t>(c.m)], c);
    else kl = kl_divergence_by_bins(h, t, c, levels);
    out[static_cast<size_t>(j)] = kl;
  }
  return out;
}

namespace {
int first_argmin(const std::vector<double>& kl, int levels) {
  int best = -1;
  for (size_t j = 0; j < kl.size(); ++j)
    if (std::isfinite(kl[j]) && (best < 0 || kl[j] < kl[static_cast<size_t>(best)] - kKlTieTolerance)) best = static_cast<int>(j);
  return best < 0 ? levels + static_cast<int>(kl.size()) - 1 : levels + best;
}
}  // namespace

std::vector<int> find_histogram_spikes(const std::vector<uint64_t>& h) {
  const int n = static_cast<int>(h.size()), r = kKlSpikeWindow / 2;
  std::vector<int> spikes;
  std::vector<uint64_t> win(static_cast<size_t>(kKlSpikeWindow));
  for (int k = 0; k < n; ++k) {
    if (h[static_cast<size_t>(k)] == 0) continue;
    // The median is at least the window's minimum: a bin within the factor of that is no spike
    // (most bins of a smooth histogram), and needs no median.
    uint64_t lowest = h[static_cast<size_t>(k)];
    for (int j = -r; j <= r; ++j) lowest = std::min(lowest, h[static_cast<size_t>(std::clamp(k + j, 0, n - 1))]);
    if (static_cast<double>(h[static_cast<size_t>(k)]) <= kKlSpikeFactor * std::max(1.0, static_cast<double>(lowest))) continue;
    for (int j = -r; j <= r; ++j) win[static_cast<size_t>(j + r)] = h[static_cast<size_t>(std::clamp(k + j, 0, n - 1))];
    std::nth_element(win.begin(), win.begin() + r, win.end());
    const double median = static_cast<double>(win[static_cast<size_t>(r)]);
    if (static_cast<double>(h[static_cast<size_t>(k)]) > kKlSpikeFactor * std::max(1.0, median)) spikes.push_back(k);
  }
  return spikes;
}

int kl_best_bins(const std::vector<uint64_t>& h, int levels) { return first_argmin(kl_divergences(h, levels), levels); }

int kl_best_bins_ref(const std::vector<uint64_t>& h, int levels) {
  std::vector<double> kl;
  for (int i = levels; i <= static_cast<int>(h.size()); ++i) kl.push_back(kl_divergence_ref(h, i, levels));
  return first_argmin(kl, levels);
}

}  // namespace mqcalib::calib
