// mqcalib/data/image_bounds.cpp: see image_bounds.h. PNG layout: W3C PNG specification (third
// edition) sections 5.2 (signature), 5.3 (chunk = length, type, data, CRC), 11.2.1 (IHDR), 7.3 and
// 8.2 (scanlines with one filter byte each; Adam7 passes for interlaced images).
#include "data/image_bounds.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "data/io_util.h"

namespace mqcalib {
namespace data_detail {
namespace {

const uint8_t kPngSig[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

int png_channels(int color_type) {
  switch (color_type) {
    case 0:
      return 1;  // gray
    case 2:
      return 3;  // RGB
    case 3:
      return 1;  // palette index
    case 4:
      return 2;  // gray + alpha
    case 6:
      return 4;  // RGBA
    default:
      return 0;
  }
}

// Bytes of the filtered scanlines: one filter byte per row plus ceil(w * bits_per_pixel / 8).
// Interlaced images have up to 7 passes of smaller rows; 2x the plain size plus 7 rows of filter
// bytes per pass bounds them.
uint64_t png_raw_bound(uint64_t w, uint64_t h, int channels, int depth, bool interlaced) {
  const uint64_t row = (w * static_cast<uint64_t>(channels) * static_cast<uint64_t>(depth) + 7) / 8;
  const uint64_t plain = h * (1 + row);
  return interlaced ? 2 * plain + 7 * (h + 8) : plain;
}

// Inflated size of the concatenated IDAT data, stopping as soon as it passes `limit`.
// `raw`: Apple's CgBI PNGs carry raw deflate without the zlib header (stb accepts them).
uint64_t inflated_size_up_to(const std::vector<const uint8_t*>& parts, const std::vector<uint32_t>& lens,
                             uint64_t limit, bool raw, const std::string& file) {
  z_stream z;
  std::memset(&z, 0, sizeof z);
  if (inflateInit2(&z, raw ? -15 : 15) != Z_OK) throw Error("image '" + file + "': zlib init failed");
  std::vector<uint8_t> out(1 << 16);
  uint64_t total = 0;
  int rc = Z_OK;
  for (size_t i = 0; i < parts.size() && rc != Z_STREAM_END && total <= limit; ++i) {
    z.next_in = const_cast<Bytef*>(parts[i]);
    z.avail_in = lens[i];
    while (z.avail_in > 0 && rc != Z_STREAM_END && total <= limit) {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      rc = inflate(&z, Z_NO_FLUSH);
      total += out.size() - z.avail_out;
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;  // corrupt: stb reports it
      if (rc == Z_BUF_ERROR && z.avail_out != 0) break;
    }
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
  }
  inflateEnd(&z);
  return total;
}

}  // namespace

ImageKind image_kind(const uint8_t* b, size_t n, const std::string& file) {
  if (n >= 8 && std::memcmp(b, kPngSig, 8) == 0) return ImageKind::Png;
  if (n >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return ImageKind::Jpeg;
  throw Error("image '" + file + "': cannot decode (neither a PNG nor a JPEG by its first bytes)");
}

void check_png_bounded(const std::string& bytes, const std::string& file) {
  const auto* b = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t n = bytes.size();
  std::vector<const uint8_t*> idat;
  std::vector<uint32_t> idat_len;
  uint64_t w = 0, h = 0;
  int channels = 0, depth = 0;
  bool interlaced = false, cgbi = false;
  for (size_t pos = 8; pos + 8 <= n;) {
    const uint32_t len = be32(b + pos);
    const std::string type(reinterpret_cast<const char*>(b + pos + 4), 4);
    if (len > 0x7FFFFFFFu || len > n - pos - 8)
      throw Error("image '" + file + "': PNG chunk at byte " + std::to_string(pos) + " claims " + std::to_string(len) +
                  " bytes but only " + std::to_string(n - pos - 8) + " follow (truncated or corrupt PNG)");
    const uint8_t* data = b + pos + 8;
    if (type == "IHDR" && len >= 13) {
      w = be32(data);
      h = be32(data + 4);
      depth = data[8];
      channels = png_channels(data[9]);
      interlaced = data[12] != 0;
    } else if (type == "IDAT") {
      idat.push_back(data);
      idat_len.push_back(len);
    } else if (type == "CgBI") {
      cgbi = true;
    } else if (type == "IEND") {
      break;
    }
    pos += 12 + static_cast<size_t>(len);  // length, type, data, CRC
  }
  if (channels == 0 || depth == 0 || idat.empty()) return;  // stb refuses these itself, allocating nothing large
  const uint64_t bound = png_raw_bound(w, h, channels, depth, interlaced);
  if (inflated_size_up_to(idat, idat_len, bound, cgbi, file) > bound)
    throw Error("image '" + file + "': the PNG's pixel data inflates to more than its " + std::to_string(w) + "x" +
                std::to_string(h) + " header needs (" + std::to_string(bound) + " bytes): corrupt or a zlib bomb");
}

}  // namespace data_detail
}  // namespace mqcalib
