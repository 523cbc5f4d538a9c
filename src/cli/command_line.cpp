// mqcalib/src/cli/command_line.cpp: see command_line.h.
#include "cli/command_line.h"

#include <iostream>

namespace po = boost::program_options;

namespace mqcalib::cli {

bool parse_command_line(const std::vector<std::string>& args, const po::options_description& all,
                        po::variables_map& vm) {
  po::store(po::command_line_parser(args).options(all).run(), vm);
  if (!vm.count("help")) return true;
  std::cout << all << "\n";
  return false;
}

}  // namespace mqcalib::cli
