// mqcalib/data/labels.cpp: class labels for evaluation.
//
// Formats: an IDX labels file (magic 0x00000801: unsigned bytes, one dimension; plain or .gz), a
// .npy of integers (any little-endian int8..int64 / uint8..uint64, shape [N] or [N, 1]), or a
// text file with one integer per line (plain or .gz). The format is chosen by the .npy suffix,
// then by content: IDX files start with two zero bytes, which no text file does.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "data/dataset.h"
#include "data/io_util.h"

namespace mqcalib {
namespace {

std::vector<int64_t> labels_from_npy(const std::string& path) {
  const std::vector<uint8_t> bytes = data_detail::read_file_maybe_gz(path);
  const data_detail::NpyHeader hdr = data_detail::parse_npy_header(bytes, path);
  auto fail = [&](const std::string& what) -> Error { return Error("labels .npy file '" + path + "': " + what); };
  const std::string& d = hdr.descr;
  if (d.size() < 3 || (d[1] != 'i' && d[1] != 'u') || (d[0] == '>' && d[2] != '1'))
    throw fail("dtype '" + d + "' is not a little-endian integer type; expected int64, int32 or uint8");
  const bool is_signed = d[1] == 'i';
  const int item = std::atoi(d.c_str() + 2);
  if (item != 1 && item != 2 && item != 4 && item != 8) throw fail("unsupported integer size in dtype '" + d + "'");
  const auto& s = hdr.shape;
  if (!(s.size() == 1 || (s.size() == 2 && s[1] == 1)))
    throw fail("shape " + shape_to_string(s) + " is not [N] or [N, 1]");
  const int64_t n = s[0];
  const size_t need = hdr.data_offset + static_cast<size_t>(n) * static_cast<size_t>(item);
  if (bytes.size() < need)
    throw fail("truncated: " + std::to_string(bytes.size()) + " bytes, the header (shape " + shape_to_string(s) +
               ", dtype '" + d + "') needs " + std::to_string(need));
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* p = bytes.data() + hdr.data_offset + static_cast<size_t>(i) * static_cast<size_t>(item);
    uint64_t u = 0;
    for (int b = 0; b < item; ++b) u |= uint64_t{p[b]} << (8 * b);  // little-endian
    int64_t v;
    if (is_signed && item < 8 && (u >> (8 * item - 1)) & 1u) {
      v = static_cast<int64_t>(u) - (int64_t{1} << (8 * item));  // sign extend
    } else if (!is_signed && item == 8 && u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw fail("label " + std::to_string(i) + " (" + std::to_string(u) + ") is too large");
    } else {
      v = static_cast<int64_t>(u);
    }
    if (v < 0) throw fail("label " + std::to_string(i) + " is negative (" + std::to_string(v) + ")");
    out[static_cast<size_t>(i)] = v;
  }
  return out;
}

std::vector<int64_t> labels_from_text(const std::vector<uint8_t>& bytes, const std::string& path) {
  std::vector<int64_t> out;
  const std::string text(bytes.begin(), bytes.end());
  size_t pos = 0;
  int64_t line_no = 0;
  int64_t first_empty = 0;  // first empty line seen; an error if a label follows it
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    const size_t b = line.find_first_not_of(" \t\r");
    const size_t e = line.find_last_not_of(" \t\r");
    if (b == std::string::npos) {
      if (first_empty == 0) first_empty = line_no;
      continue;
    }
    line = line.substr(b, e - b + 1);
    const std::string where = "labels file '" + path + "', line " + std::to_string(line_no);
    if (first_empty != 0)
      throw Error("labels file '" + path + "', line " + std::to_string(first_empty) +
                  ": empty line before more labels (one label per line, no blank lines)");
    errno = 0;
    char* stop = nullptr;
    const long long v = std::strtoll(line.c_str(), &stop, 10);
    if (stop == line.c_str() || *stop != '\0') throw Error(where + ": '" + line + "' is not an integer label");
    if (errno == ERANGE) throw Error(where + ": '" + line + "' is out of range");
    if (v < 0) throw Error(where + ": label " + line + " is negative");
    out.push_back(static_cast<int64_t>(v));
  }
  if (out.empty()) throw Error("labels file '" + path + "': no labels in it");
  return out;
}

}  // namespace

std::vector<int64_t> load_labels(const std::string& path) {
  if (path.empty()) throw Error("labels path is empty");
  if (data_detail::is_directory(path)) throw Error("labels path '" + path + "' is a directory, expected a file");
  if (!data_detail::is_regular_file(path)) throw Error("labels file '" + path + "' does not exist");
  if (data_detail::ends_with_ci(path, ".npy")) return labels_from_npy(path);
  std::vector<uint8_t> bytes = data_detail::read_file_maybe_gz(path);
  if (bytes.size() >= 2 && bytes[0] == 0 && bytes[1] == 0) {
    const data_detail::IdxData d = data_detail::parse_idx_u8(std::move(bytes), path, 1, "labels");
    return std::vector<int64_t>(d.bytes.begin() + static_cast<std::ptrdiff_t>(d.data_offset), d.bytes.end());
  }
  return labels_from_text(bytes, path);
}

}  // namespace mqcalib
