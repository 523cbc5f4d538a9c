// mqcalib/src/cli/commands.h: the subcommands of the `mqcalib` executable.
//
// A command is one file (inspect.cpp, quantize.cpp, eval.cpp, ...) exposing `int run_<name>(args)`
// and one line in the table of commands.cpp. `args` are the arguments after the command name.
#pragma once

#include <string>
#include <vector>

namespace mqcalib::cli {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>& args);
};

const std::vector<Command>& commands();

int run_inspect(const std::vector<std::string>& args);
int run_quantize(const std::vector<std::string>& args);
int run_eval(const std::vector<std::string>& args);
int run_sensitivity(const std::vector<std::string>& args);
int run_verify(const std::vector<std::string>& args);

}  // namespace mqcalib::cli
