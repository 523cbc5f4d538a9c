// libFuzzer target: params.json read back as `mqcalib eval` does (load_record: the strict parser and
// the weight-code files it names, resolved inside the record's folder). The folder holds a valid code file, a symlink leaving it, a
// symlink to a device and a FIFO, so mutated "weight_codes" paths meet every refusal.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "export/npy_i32.h"
#include "export/record_files.h"
#include "fuzz/fuzz_util.h"

namespace {
const std::string& record_dir() {
  static const std::string dir = [] {
    const std::string d = fuzz::scratch_dir() + "/record";
    std::filesystem::create_directories(d + "/weights");
    const int32_t codes[6] = {1, -2, 3, -4, 5, -6};
    mqcalib::write_npy_i32(d + "/weights/ok.npy", mqcalib::Shape{2, 3}, codes);
    (void)::symlink("/etc/passwd", (d + "/weights/out.npy").c_str());
    (void)::symlink("/dev/zero", (d + "/weights/dev.npy").c_str());
    (void)::mkfifo((d + "/weights/fifo.npy").c_str(), 0600);
    return d;
  }();
  return dir;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = record_dir() + "/params.json";
  fuzz::write_input("record/params.json", data, size);
  fuzz::refuse_only_with_error([&] { (void)mqcalib::load_record(path); });
  return 0;
}
