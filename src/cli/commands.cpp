// mqcalib/src/cli/commands.cpp: the table of subcommands (add one line per new command file).
#include "cli/commands.h"

namespace mqcalib::cli {

const std::vector<Command>& commands() {
  static const std::vector<Command> table = {
      {"inspect", "graph summary, BN folding, blocks, weight statistics and an FP check against LibTorch",
       run_inspect},
  };
  return table;
}

}  // namespace mqcalib::cli
