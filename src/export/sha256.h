// mqcalib/src/export/sha256.h: SHA-256 (FIPS 180-4) for file and calibration-sample hashes recorded
// in params.json's provenance. Small and dependency-free; tested against the FIPS 180-2 vectors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mqcalib {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t bytes);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The digest of everything updated so far. Finalizes: further update() calls throw mqcalib::Error.
  // Calling digest()/hex() again returns the same value.
  std::array<uint8_t, 32> digest();
  std::string hex();  // 64 lowercase hex digits

 private:
  void compress_block(const uint8_t* block);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
  bool finished_ = false;
  std::array<uint8_t, 32> digest_{};
};

std::string sha256_hex(std::string_view bytes);
// Hash of a file's bytes; throws mqcalib::Error naming the file when it cannot be read.
std::string sha256_of_file(const std::string& path);

}  // namespace mqcalib
