// mqcalib/src/cli/config_file.cpp: see config_file.h.
#include "cli/config_file.h"

#include <sstream>

#include "core/error.h"
#include "core/input_file.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

void store_config_file(const std::string& path, const po::options_description& options, po::variables_map& vm) {
  const std::string text = read_file_bounded(path, "--config", kMaxConfigFileBytes);
  if (text.find('\0') != std::string::npos) throw Error("--config '" + path + "': a binary file (contains NUL bytes)");
  std::istringstream in(text);
  try {
    po::store(po::parse_config_file(in, options), vm);
  } catch (const po::error& e) {
    throw Error("--config '" + path + "': " + e.what());
  }
}

}  // namespace mqcalib::cli
