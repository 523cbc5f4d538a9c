// mqcalib/tests/reliability/fault_writer.cpp: writes one output set with write_output_folder, as the
// pipeline's export does, for the fault test (test_fault_export.py kills it, or fills its disk).
//   fault_writer DIR SET NFILES BYTES
// Set SET has params.json ("set SET" then one "name bytes checksum" line per file) and NFILES files
// named after the set (SET_f<k>.bin, weights/SET_w<k>.npy alternately) of BYTES bytes each, so a
// folder mixing two sets, missing a file or holding a partial one is visible to the checker.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/error.h"
#include "core/interrupt.h"
#include "export/output_folder.h"

namespace {
// FNV-1a 32-bit of the bytes (the checker computes the same).
uint32_t fnv1a(const std::string& s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  return h;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: fault_writer DIR SET NFILES BYTES\n");
    return 2;
  }
  mqcalib::install_interrupt_handlers();
  const std::string dir = argv[1], set = argv[2];
  const int nfiles = std::atoi(argv[3]);
  const size_t bytes = static_cast<size_t>(std::atol(argv[4]));
  mqcalib::OutputFiles files;
  std::string manifest = "set " + set + "\n";
  for (int k = 0; k < nfiles; ++k) {
    const std::string name =
        k % 2 ? "weights/" + set + "_w" + std::to_string(k) + ".npy" : set + "_f" + std::to_string(k) + ".bin";
    std::string b(bytes, '\0');
    uint32_t x = fnv1a(name);
    for (char& c : b) c = static_cast<char>((x = x * 1103515245u + 12345u) >> 24);
    manifest += name + " " + std::to_string(b.size()) + " " + std::to_string(fnv1a(b)) + "\n";
    files.emplace_back(name, std::move(b));
  }
  files.emplace(files.begin(), "params.json", manifest);
  try {
    mqcalib::write_output_folder(dir, files);
  } catch (const mqcalib::Error& e) {
    std::fprintf(stderr, "fault_writer: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
