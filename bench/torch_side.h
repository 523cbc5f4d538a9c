// mqcalib/bench/torch_side.h: the PyTorch side of the benches that compare with torch autograd
// (bench_adaround, bench_recon, bench_synthesis). Their python script prints one line per case,
// "NAME MS FIELD...", and a line "peak_rss_mib MIB"; a failing script means no comparison.
#pragma once

#include <cstdio>
#include <functional>
#include <sstream>
#include <string>

namespace mqcalib::bench {

// Runs `command` (stderr folded into its output) and calls row(name, ms, rest) for every case line,
// `rest` holding the line's remaining fields. False, with the output printed, when the command cannot
// run or exits non-zero.
inline bool run_torch_side(const std::string& command, double& peak_rss_mib,
                           const std::function<void(const std::string&, double, std::istream&)>& row) {
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (!p) return false;
  char buf[1024];
  std::string out;
  while (std::fgets(buf, sizeof buf, p)) {
    std::istringstream ss(buf);
    std::string name;
    double ms = 0;
    if (ss >> name >> ms) {
      if (name == "peak_rss_mib")
        peak_rss_mib = ms;
      else
        row(name, ms, ss);
    }
    out += buf;
  }
  const int rc = pclose(p);
  if (rc != 0) {
    std::printf("python torch side unavailable (exit %d): %s", rc, out.c_str());
    return false;
  }
  return true;
}

}  // namespace mqcalib::bench
