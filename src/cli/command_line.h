// mqcalib/src/cli/command_line.h: what every subcommand does first with its arguments.
#pragma once

#include <boost/program_options.hpp>
#include <string>
#include <vector>

namespace mqcalib::cli {

// Stores `args` into `vm` against `all` (po::store; no notify). When --help is given, prints `all` on
// stdout and returns false: the command then exits 0 without doing anything else.
bool parse_command_line(const std::vector<std::string>& args, const boost::program_options::options_description& all,
                        boost::program_options::variables_map& vm);

}  // namespace mqcalib::cli
