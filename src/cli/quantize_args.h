// mqcalib/src/cli/quantize_args.h: the options of `mqcalib quantize`, grouped as its --help shows them,
// and their translation into QuantizeOptions.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "cli/data_options.h"
#include "cli/diagnose_options.h"
#include "mqcalib/mqcalib.h"

namespace mqcalib::cli {

// What the command line holds. describe() binds the options to these members, so a QuantizeArgs is
// used where it was built (not copied or moved after describe()).
struct QuantizeArgs {
  QuantizeOptions o;
  PreprocessArgs pre;
  DiagnoseArgs diagnose;
  std::string calib, eval, eval_labels, config, input_shape;
  std::vector<std::string> layer_bits;
  bool quiet = false;

  QuantizeArgs() = default;
  QuantizeArgs(const QuantizeArgs&) = delete;
  QuantizeArgs& operator=(const QuantizeArgs&) = delete;

  // Every group, with the usage text of --help.
  boost::program_options::options_description describe();
  // After notify: the data, layer bits, input shape and diagnose options into `o`; throws Error naming
  // the option for a malformed value.
  void finish(const std::vector<std::string>& args);
};

}  // namespace mqcalib::cli
