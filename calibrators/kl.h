// mqcalib/calibrators/kl.h: the KL (entropy) threshold search of calibrators/kl.cpp, exposed for
// tests on hand-built histograms. See kl.cpp's header for the variant implemented.
#pragma once

#include <cstdint>
#include <vector>

namespace mqcalib::calib {

// Ties: a candidate replaces the best only if its KL is smaller by more than this (nats), so the
// first (smallest) argmin wins among candidates equal up to rounding.
constexpr double kKlTieTolerance = 1e-12;
// MXNet / TVM smoothing eps, in counts (kl.cpp header).
constexpr double kKlSmoothEps = 1e-4;
// Spike detection (ObserverOptions::kl_skip_spikes): a bin is a spike when its count exceeds
// kKlSpikeFactor x max(1, median of the kKlSpikeWindow bins centred on it, edges clamped).
constexpr int kKlSpikeWindow = 17;
constexpr double kKlSpikeFactor = 8.0;

// KL(P || Q) in nats of candidate i (levels <= i <= h.size()) after smoothing; +infinity only when
// the first i bins are all empty. Reference twin: builds P and Q explicitly.
double kl_divergence_ref(const std::vector<uint64_t>& h, int i, int levels);
// Fast search: KL of every candidate, O(1) each from prefix tables (kl_search.cpp; O(i) on sparse
// histograms).
// Returns the chosen i (threshold = i bin widths). Requires levels <= h.size().
int kl_best_bins(const std::vector<uint64_t>& h, int levels);
int kl_best_bins_ref(const std::vector<uint64_t>& h, int levels);
// The KL values of the fast search for candidates levels..h.size() (index i - levels).
std::vector<double> kl_divergences(const std::vector<uint64_t>& h, int levels);

// Indices of the spike bins of h (ascending), per the rule above.
std::vector<int> find_histogram_spikes(const std::vector<uint64_t>& h);

}  // namespace mqcalib::calib
