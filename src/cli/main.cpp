// mqcalib/src/cli/main.cpp: `mqcalib <command> [options]`, dispatch through the table of commands.h.
// Every mqcalib::Error (and option error) is printed on stderr and the exit status is non-zero.
#include <boost/program_options/errors.hpp>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/config_file.h"
#include "mqcalib/error.h"
#include "mqcalib/interrupt.h"

namespace {

void usage(std::ostream& os) {
  os << "usage: mqcalib <command> [options]\n\ncommands:\n";
  for (const mqcalib::cli::Command& c : mqcalib::cli::commands()) os << "  " << c.name << "  " << c.summary << "\n";
  os << "\n`mqcalib <command> --help` lists the options of a command. mqcalib " MQCALIB_VERSION "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    usage(std::cerr);
    return 2;
  }
  const std::string cmd = argv[1];
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    usage(std::cout);
    return 0;
  }
  if (cmd == "--version") {
    std::cout << "mqcalib " MQCALIB_VERSION "\n";
    return 0;
  }
  // SIGINT/SIGTERM: remove a half-written output set, exit 130/143 (mqcalib/interrupt.h).
  mqcalib::install_interrupt_handlers();
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const mqcalib::cli::Command& c : mqcalib::cli::commands()) {
    if (cmd != c.name) continue;
    try {
      for (size_t i = 0; i < args.size(); ++i)
        mqcalib::cli::check_no_placeholder_token(args[i], "argument " + std::to_string(i + 2) + " '" + args[i] + "'");
      return c.run(args);
    } catch (const mqcalib::Error& e) {
      std::cerr << "mqcalib " << cmd << ": error: " << e.what() << "\n";
      return 1;
    } catch (const boost::program_options::error& e) {
      std::cerr << "mqcalib " << cmd << ": bad option: " << e.what() << " (see mqcalib " << cmd << " --help)\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "mqcalib " << cmd << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  std::cerr << "mqcalib: unknown command '" << cmd << "'\n";
  usage(std::cerr);
  return 2;
}
