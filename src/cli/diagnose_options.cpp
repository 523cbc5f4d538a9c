// mqcalib/src/cli/diagnose_options.cpp: see diagnose_options.h.
#include "cli/diagnose_options.h"

#include <cstdio>

#include "mqcalib/error.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

std::map<std::string, int> parse_layer_bits(const std::vector<std::string>& items) {
  std::map<std::string, int> out;
  for (const std::string& lb : items) {
    const size_t eq = lb.rfind('=');
    int bits = 0;
    try {
      bits = eq == std::string::npos ? 0 : std::stoi(lb.substr(eq + 1));
    } catch (const std::exception&) {
      bits = 0;
    }
    if (eq == std::string::npos || eq == 0 || bits == 0)
      throw Error("--layer-bits '" + lb + "': expected NAME=BITS, e.g. fc=8");
    out[lb.substr(0, eq)] = bits;
  }
  return out;
}

std::vector<int> parse_int_list(const std::string& text, const std::string& option) {
  std::vector<int> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t comma = std::min(text.find(',', pos), text.size());
    const std::string item = text.substr(pos, comma - pos);
    size_t used = 0;
    int v = 0;
    try {
      v = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size())
      throw Error(option + " '" + text + "': expected integers separated by commas");
    out.push_back(v);
    pos = comma + 1;
  }
  return out;
}

void DiagnoseArgs::add_to(po::options_description& d) {
  d.add_options()("bits-budget", po::value(&bits_budget),
                  "mixed precision: per-layer bits minimising the summed sensitivity within an average of N weight "
                  "bits (e.g. 3) or a model size (e.g. 70KB, 68KiB, 70000B)")(
      "bits-set", po::value(&bits_set)->default_value(bits_set), "mixed precision: the weight bits to choose from")(
      "a-bits-set", po::value(&a_bits_set),
      "mixed precision: the input-activation bits to choose from (default: the backend's)")(
      "a-bits-budget", po::value(&a_bits_budget)->default_value(0),
      "mixed precision: the average input-activation bits allowed (0: no limit)")(
      "sensitivity", po::bool_switch(&sensitivity), "measure each layer alone at its bits for the report")(
      "sensitivity-metric", po::value(&metric)->default_value(metric),
      "kl (softmax divergence from FP32) | nsr (logits' noise-to-signal): what the allocation minimises")(
      "sensitivity-samples", po::value(&samples)->default_value(samples),
      "calibration samples the logits are compared on")(
      "fix-outliers", po::bool_switch(&fix_outliers),
      "apply the outlier findings' advice (8 bits or FP32 for the named layers) and run again; reports the gain");
}

void DiagnoseArgs::apply(QuantizeOptions& o) const {
  o.bits_budget = bits_budget;
  o.bits_set = parse_int_list(bits_set, "--bits-set");
  if (!a_bits_set.empty()) o.a_bits_set = parse_int_list(a_bits_set, "--a-bits-set");
  o.a_bits_budget = a_bits_budget;
  o.sensitivity_metric = metric;
  o.sensitivity_samples = samples;
  o.sensitivity = sensitivity;
  o.fix_outliers = fix_outliers;
}

void print_diagnose_results(const QuantizeResult& r) {
  if (!r.bit_allocation.empty()) {
    std::printf("\nMixed precision: %.3f weight bits on average\n%-28s %6s %6s %8s %12s\n", r.average_w_bits, "layer",
                "w-bits", "a-bits", "how", "sensitivity");
    for (const LayerBitsSummary& l : r.bit_allocation)
      std::printf("%-28s %6d %6d %8s %12.4g\n", l.layer.c_str(), l.w_bits, l.a_bits, l.fixed ? "fixed" : "chosen",
                  l.sensitivity);
  }
  if (r.outlier_fix) {
    const OutlierFixSummary& f = *r.outlier_fix;
    std::printf("\nOutlier fix:\n");
    for (const auto& [layer, action] : f.actions) std::printf("  %-28s %s\n", layer.c_str(), action.c_str());
    std::printf("  logits SQNR %.2f dB -> %.2f dB\n", f.logits_sqnr_before_db, f.logits_sqnr_after_db);
    if (f.evaluated)
      std::printf("  quantized top-1 %.2f%% -> %.2f%% (gain %.2f)\n", f.top1_before, f.top1_after,
                  f.top1_after - f.top1_before);
  }
}

}  // namespace mqcalib::cli
