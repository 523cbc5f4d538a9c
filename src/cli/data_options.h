// mqcalib/src/cli/data_options.h: the data and preprocessing options shared by quantize, eval and
// verify, and the list parsers of the commands' options.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "mqcalib/mqcalib.h"

namespace mqcalib::cli {

// "0.485,0.456,0.406" -> {0.485, 0.456, 0.406}; throws Error naming the option.
std::vector<float> parse_float_list(const std::string& text, const std::string& option);

// "1,1,28,28" -> {1, 1, 28, 28}. Throws Error naming `option` and the text when it is not a list
// of positive integers.
std::vector<int64_t> parse_shape(const std::string& text, const std::string& option);

struct PreprocessArgs {
  std::string mean = "0", std = "1", color = "gray", layout = "nchw";
  int resize = 0, center_crop = 0;
  void add_to(boost::program_options::options_description& d);
  // Whether the command line set any of them (eval and verify take the record's otherwise).
  static bool any_given(const boost::program_options::variables_map& vm);
  DataOptions to_data(const std::string& path, const std::string& labels) const;
};

}  // namespace mqcalib::cli
