// mqcalib/src/cli/config_file.cpp: see config_file.h.
#include "cli/config_file.h"

#include <cctype>
#include <sstream>

#include "mqcalib/error.h"
#include "mqcalib/input_file.h"

namespace po = boost::program_options;

namespace mqcalib::cli {

namespace {
constexpr size_t kMaxConfigLineChars = 1024;
}  // namespace

void check_no_placeholder_token(const std::string& text, const std::string& where) {
  for (size_t open = text.find('%'); open != std::string::npos; open = text.find('%', open + 1)) {
    size_t i = open + 1;
    while (i < text.size() && (std::isalnum(static_cast<unsigned char>(text[i])) || text[i] == '_')) ++i;
    if (i > open + 1 && i < text.size() && text[i] == '%')
      throw Error(where + ": '" + text.substr(open, i - open + 1) +
                  "' in a value is not accepted (Boost.Program_options cannot report an error about such a value)");
  }
}

void store_config_file(const std::string& path, const po::options_description& options, po::variables_map& vm) {
  const std::string text = read_file_bounded(path, "--config", kMaxConfigFileBytes);
  if (text.find('\0') != std::string::npos) throw Error("--config '" + path + "': a binary file (contains NUL bytes)");
  // Boost formats its error messages by repeated token replacement, quadratic in the line's length:
  // a config line is a key and a value, never this long.
  size_t line_no = 1, start = 0;
  for (size_t nl = text.find('\n'); start < text.size(); nl = text.find('\n', start), ++line_no) {
    const size_t end = nl == std::string::npos ? text.size() : nl;
    if (end - start > kMaxConfigLineChars)
      throw Error("--config '" + path + "', line " + std::to_string(line_no) + ": longer than " +
                  std::to_string(kMaxConfigLineChars) + " characters");
    check_no_placeholder_token(text.substr(start, end - start),
                               "--config '" + path + "', line " + std::to_string(line_no));
    start = end + 1;
  }
  std::istringstream in(text);
  try {
    po::store(po::parse_config_file(in, options), vm);
  } catch (const po::error& e) {
    throw Error("--config '" + path + "': " + e.what());
  }
}

}  // namespace mqcalib::cli
