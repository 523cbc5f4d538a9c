// Helpers for the data tests: a scratch directory and independent writers for the file formats
// (IDX, .npy, PNG via stb_image_write), so the readers are tested against files built from the
// format specifications, not by the code under test.
#pragma once

#include <stb_image_write.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "data/dataset.h"

namespace data_test {

struct TempDir {
  std::string path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "mqcalib_data_XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  if (!b.empty()) std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}

inline void write_text(const std::string& path, const std::string& s) {
  write_bytes(path, std::vector<uint8_t>(s.begin(), s.end()));
}

inline void write_gz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot write " + path);
  gzwrite(f, b.data(), static_cast<unsigned>(b.size()));
  gzclose(f);
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error("cannot read " + path);
  std::vector<uint8_t> out;
  uint8_t buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return out;
}

inline void put_be32(std::vector<uint8_t>& b, uint32_t v) {
  b.push_back(static_cast<uint8_t>(v >> 24));
  b.push_back(static_cast<uint8_t>(v >> 16));
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}

// IDX file bytes: magic 0x0000 <type> <ndims>, big-endian dims, payload.
inline std::vector<uint8_t> idx_bytes(uint8_t type, const std::vector<uint32_t>& dims,
                                      const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) put_be32(b, d);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

// .npy file bytes, format `major`.0: magic, version, little-endian header length, the header dict
// padded with spaces and ending in '\n' so the data starts at a multiple of 64 (NEP 1).
inline std::vector<uint8_t> npy_bytes(const std::string& descr, const std::vector<int64_t>& shape,
                                      const std::vector<uint8_t>& payload, bool fortran = false, int major = 1) {
  std::string shp = "(";  // Python tuple repr: (5,) or (2, 3)
  for (size_t i = 0; i < shape.size(); ++i) shp += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) shp += ",";
  shp += ")";
  std::string dict =
      "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': " + shp + ", }";
  const size_t pre = major == 1 ? 10 : 12;
  size_t total = pre + dict.size() + 1;
  const size_t pad = (64 - total % 64) % 64;
  dict += std::string(pad, ' ') + "\n";
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', static_cast<uint8_t>(major), 0};
  const size_t hl = dict.size();
  b.push_back(static_cast<uint8_t>(hl & 0xFF));
  b.push_back(static_cast<uint8_t>((hl >> 8) & 0xFF));
  if (major != 1) {
    b.push_back(static_cast<uint8_t>((hl >> 16) & 0xFF));
    b.push_back(static_cast<uint8_t>((hl >> 24) & 0xFF));
  }
  b.insert(b.end(), dict.begin(), dict.end());
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

inline std::vector<uint8_t> f32_payload(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  for (size_t i = 0; i < v.size(); ++i) std::memcpy(b.data() + 4 * i, &v[i], 4);  // x86-64: little-endian
  return b;
}

// PNG with stb_image_write (Debian libstb); pixels interleaved, `comp` channels.
inline void write_png(const std::string& path, int w, int h, int comp, const std::vector<uint8_t>& px) {
  if (!stbi_write_png(path.c_str(), w, h, comp, px.data(), w * comp))
    throw std::runtime_error("stbi_write_png " + path);
}

// True when `what` (an exception message) mentions `needle`.
inline bool mentions(const std::string& what, const std::string& needle) {
  return what.find(needle) != std::string::npos;
}

}  // namespace data_test

// CHECK that `expr` throws mqcalib::Error whose message contains every given string.
#define CHECK_ERROR_MENTIONS(expr, ...)                                                 \
  do {                                                                                  \
    bool thrown_ = false;                                                               \
    try {                                                                               \
      (void)(expr);                                                                     \
    } catch (const mqcalib::Error& e_) {                                                \
      thrown_ = true;                                                                   \
      for (const std::string& n_ : std::vector<std::string>{__VA_ARGS__}) {             \
        INFO("message: " << std::string(e_.what()) << "  expected to mention: " << n_); \
        CHECK(data_test::mentions(e_.what(), n_));                                      \
      }                                                                                 \
    }                                                                                   \
    INFO("expression did not throw mqcalib::Error: " #expr);                            \
    CHECK(thrown_);                                                                     \
  } while (0)
