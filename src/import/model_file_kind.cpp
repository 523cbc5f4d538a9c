// mqcalib/src/import/model_file_kind.cpp: not_torchscript_reason(), from the zip's central directory.
//
// A TorchScript archive (torch.jit.save) is a zip of <name>/data.pkl, <name>/constants.pkl and
// <name>/code/...; torch.save writes the same container without constants.pkl and code/ (a pickled
// eager module or state_dict); torch.save before PyTorch 1.6 wrote a bare pickle (first byte 0x80).
#include "import/model_file_kind.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <vector>

namespace mqcalib::import_detail {

namespace {

constexpr uint32_t kEndOfCentralDir = 0x06054b50, kCentralEntry = 0x02014b50;
constexpr size_t kMaxNames = 4096;

uint32_t le32(const unsigned char* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

std::vector<unsigned char> read_at(std::ifstream& f, uint64_t offset, uint64_t n) {
  std::vector<unsigned char> b(n);
  f.clear();
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(reinterpret_cast<char*>(b.data()), static_cast<std::streamsize>(n));
  b.resize(static_cast<size_t>(f.gcount()));
  return b;
}

// The entry names of the zip's central directory; empty when there is none to read.
std::vector<std::string> zip_names(std::ifstream& f, uint64_t size) {
  const uint64_t tail_n = std::min<uint64_t>(size, 65536 + 22);
  const std::vector<unsigned char> tail = read_at(f, size - tail_n, tail_n);
  std::vector<std::string> names;
  for (size_t i = tail.size() >= 22 ? tail.size() - 22 + 1 : 0; i-- > 0;) {
    if (le32(&tail[i]) != kEndOfCentralDir) continue;
    const uint32_t dir_size = le32(&tail[i + 12]), dir_offset = le32(&tail[i + 16]);
    if (uint64_t{dir_offset} + dir_size > size || dir_size > (64u << 20)) return names;
    const std::vector<unsigned char> dir = read_at(f, dir_offset, dir_size);
    for (size_t p = 0; p + 46 <= dir.size() && le32(&dir[p]) == kCentralEntry && names.size() < kMaxNames;) {
      const size_t n = le16(&dir[p + 28]), extra = le16(&dir[p + 30]), comment = le16(&dir[p + 32]);
      if (p + 46 + n > dir.size()) break;
      names.emplace_back(reinterpret_cast<const char*>(&dir[p + 46]), n);
      p += 46 + n + extra + comment;
    }
    return names;
  }
  return names;
}

bool any_ends_with(const std::vector<std::string>& names, const std::string& suffix) {
  return std::any_of(names.begin(), names.end(), [&](const std::string& s) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  });
}

}  // namespace

std::string not_torchscript_reason(const std::string& path) {
  const char* kHow =
      "export the model with torch.jit.script(model).save(path) or torch.jit.trace(model, example).save(path)";
  std::ifstream f(path, std::ios::binary | std::ios::ate);
  if (!f) return "";
  const uint64_t size = static_cast<uint64_t>(f.tellg());
  const std::vector<unsigned char> head = read_at(f, 0, 4);
  if (head.size() < 4) return "the file is " + std::to_string(size) + " bytes, too short for a TorchScript archive";
  if (head[0] == 0x80)
    return std::string("it is a bare pickle (torch.save of PyTorch < 1.6), not TorchScript: ") + kHow;
  if (le32(head.data()) != 0x04034b50)
    return std::string("it is not a zip archive, which TorchScript files are: ") + kHow;
  const std::vector<std::string> names = zip_names(f, size);
  const bool data = any_ends_with(names, "/data.pkl");
  const bool constants = any_ends_with(names, "/constants.pkl");
  const bool code = std::any_of(names.begin(), names.end(),
                                [](const std::string& s) { return s.find("/code/") != std::string::npos; });
  if (data && !(constants && code))
    return std::string("it was written by torch.save (an eager module or a state_dict), not torch.jit.save: ") + kHow;
  if (!data) return std::string("it is a zip archive but not a PyTorch file (no <name>/data.pkl): ") + kHow;
  return "";
}

std::string load_error(const std::string& who, const std::string& path, const std::string& libtorch_message) {
  const std::string why = not_torchscript_reason(path);
  if (why.empty()) return who + ": cannot load TorchScript model '" + path + "': " + libtorch_message;
  return who + ": '" + path + "' is not a TorchScript model: " + why + " (LibTorch: " + libtorch_message + ")";
}

}  // namespace mqcalib::import_detail
