// mqcalib/src/export/sha256.h: SHA-256 (FIPS 180-4) for the file and calibration-sample hashes recorded
// in params.json's provenance: a thin wrapper over OpenSSL's libcrypto (EVP), which is made for the
// job. Tested against the FIPS 180-2 vectors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace mqcalib {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t bytes);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  // The digest of everything updated so far. Finalizes: further update() calls throw mqcalib::Error.
  // Calling digest()/hex() again returns the same value.
  std::array<uint8_t, 32> digest();
  std::string hex();  // 64 lowercase hex digits

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  bool finished_ = false;
  std::array<uint8_t, 32> digest_{};
};

std::string sha256_hex(std::string_view bytes);
// Hash of a file's bytes; throws mqcalib::Error naming the file when it cannot be read.
std::string sha256_of_file(const std::string& path);

}  // namespace mqcalib
