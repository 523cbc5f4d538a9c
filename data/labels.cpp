// mqcalib/data/labels.cpp: class labels for evaluation.
//
// Formats: an IDX labels file (magic 0x00000801: unsigned bytes, one dimension; plain or .gz), a
// .npy of integers (any little-endian int8..int64 / uint8..uint64, shape [N] or [N, 1]), or a
// text file with one integer per line (plain or .gz). The format is chosen by the .npy suffix,
// then by content: IDX files start with two zero bytes, which no text file does. Reads are bounded:
// IDX and .npy by what their header names (checked against the file before the payload is read),
// text by kMaxLabelsTextBytes.
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "data/dataset.h"
#include "data/io_util.h"

namespace mqcalib {
namespace {

int64_t label_item_size(const std::string& d) {
  if (d.size() < 3 || (d[1] != 'i' && d[1] != 'u') || (d[0] == '>' && d[2] != '1')) return 0;
  const int item = std::atoi(d.c_str() + 2);
  return item == 1 || item == 2 || item == 4 || item == 8 ? item : 0;
}

// Header first, then exactly the payload it names (plus one byte to find trailing data); a plain
// file is sized against the header before the payload is read.
std::vector<uint8_t> read_npy_bounded(const std::string& path, data_detail::NpyHeader* hdr) {
  data_detail::MaybeGzReader r(path, "labels .npy file");
  std::vector<uint8_t> bytes;
  r.append(bytes, 12);
  const size_t total = data_detail::npy_header_total(bytes, path);
  if (total > bytes.size()) r.append(bytes, total - bytes.size());
  *hdr = data_detail::parse_npy_header(bytes, path);
  const int64_t item = label_item_size(hdr->descr);
  if (item == 0) return bytes;  // the caller names the dtype
  const int64_t end = data_detail::npy_payload_end(*hdr, item, path);
  if (!r.is_gzip() && r.file_size() < end)
    throw Error("labels .npy file '" + path + "': truncated: " + std::to_string(r.file_size()) +
                " bytes, the header (shape " + shape_to_string(hdr->shape) + ", dtype '" + hdr->descr + "') needs " +
                std::to_string(end));
  r.append(bytes, static_cast<size_t>(end + 1) - bytes.size());
  return bytes;
}

std::vector<int64_t> labels_from_npy(const std::string& path) {
  data_detail::NpyHeader hdr;
  const std::vector<uint8_t> bytes = read_npy_bounded(path, &hdr);
  auto fail = [&](const std::string& what) -> Error { return Error("labels .npy file '" + path + "': " + what); };
  const std::string& d = hdr.descr;
  if (d.size() < 3 || (d[1] != 'i' && d[1] != 'u') || (d[0] == '>' && d[2] != '1'))
    throw fail("dtype '" + d + "' is not a little-endian integer type; expected int64, int32 or uint8");
  const bool is_signed = d[1] == 'i';
  const int64_t item = label_item_size(d);
  if (item == 0) throw fail("unsupported integer size in dtype '" + d + "'");
  const auto& s = hdr.shape;
  if (!(s.size() == 1 || (s.size() == 2 && s[1] == 1)))
    throw fail("shape " + shape_to_string(s) + " is not [N] or [N, 1]");
  const int64_t n = s[0];
  const size_t need = static_cast<size_t>(data_detail::npy_payload_end(hdr, item, path));
  if (bytes.size() < need)
    throw fail("truncated: " + std::to_string(bytes.size()) + " bytes, the header (shape " + shape_to_string(s) +
               ", dtype '" + d + "') needs " + std::to_string(need));
  if (bytes.size() > need)
    throw fail("more bytes than the header (shape " + shape_to_string(s) + ", dtype '" + d + "') names");
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
  (void)InputFile(path, "labels file");  // names a missing file, a directory, a FIFO or a device
  if (data_detail::ends_with_ci(path, ".npy")) return labels_from_npy(path);
  const std::vector<uint8_t> head = data_detail::read_prefix_maybe_gz(path, "labels file", 2);
  if (head.size() >= 2 && head[0] == 0 && head[1] == 0) {
    const data_detail::IdxData d = data_detail::read_idx_u8(path, 1, "labels");
    return std::vector<int64_t>(d.bytes.begin() + static_cast<std::ptrdiff_t>(d.data_offset), d.bytes.end());
  }
  return labels_from_text(data_detail::read_maybe_gz_bounded(path, "labels file", kMaxLabelsTextBytes), path);
}

}  // namespace mqcalib
