// mqcalib/src/cli/config_file.h: `--config FILE`, options as `key = value` lines (Boost's config
// file syntax, the same names as the command line).
//
// The file is opened as an InputFile (a directory, FIFO or device is refused by name, never read
// as empty or forever) and read only when it has at most kMaxConfigFileBytes; a line may have at
// most 1024 characters. A syntax error or an
// unknown key throws Error naming the file.
#pragma once

#include <boost/program_options.hpp>
#include <cstdint>
#include <string>

namespace mqcalib::cli {

inline constexpr int64_t kMaxConfigFileBytes = int64_t{1} << 20;  // --config: 1 MiB of key = value lines

// Throws Error when `text` (a command-line argument, or a config line) holds a "%name%" token.
// Boost.Program_options 1.74 builds its error messages by replacing "%value%", "%option%", ...
// until none is left, so a bad value that itself contains "%value%x" makes what() loop forever,
// growing the message until memory runs out (found by fuzz_config). `where` names the argument.
void check_no_placeholder_token(const std::string& text, const std::string& where);

// Parses the file at `path` against `options` and stores the values in `vm` (values already in
// `vm`, e.g. from the command line, win, as po::store does). Call po::notify(vm) afterwards.
void store_config_file(const std::string& path, const boost::program_options::options_description& options,
                       boost::program_options::variables_map& vm);

}  // namespace mqcalib::cli
