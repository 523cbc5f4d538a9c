// mqcalib/src/cli/diagnose_options.h: the options of issue 16 (mixed precision, sensitivity in the
// report, --fix-outliers) that `mqcalib quantize` takes, and what it prints of their results; the
// NAME=BITS parser `quantize` and `sensitivity` share.
#pragma once

#include <boost/program_options.hpp>
#include <map>
#include <string>
#include <vector>

#include "mqcalib/mqcalib.h"

namespace mqcalib::cli {

// "fc=8" -> {fc: 8}; throws Error naming --layer-bits.
std::map<std::string, int> parse_layer_bits(const std::vector<std::string>& items);
// "2,4,8" -> {2, 4, 8}; throws Error naming `option`.
std::vector<int> parse_int_list(const std::string& text, const std::string& option);

struct DiagnoseArgs {
  std::string bits_budget, bits_set = "2,3,4,8", a_bits_set, metric = "kl";
  double a_bits_budget = 0;
  int64_t samples = 256;
  bool sensitivity = false, fix_outliers = false;
  void add_to(boost::program_options::options_description& d);
  void apply(QuantizeOptions& o) const;
};

// The chosen bits and the fix's effect, after the run's tables.
void print_diagnose_results(const QuantizeResult& r);

}  // namespace mqcalib::cli
