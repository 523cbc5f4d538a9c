// mqcalib/src/export/sha256.cpp: SHA-256 through libcrypto's EVP interface (see sha256.h).
#include "export/sha256.h"

#include <openssl/evp.h>

#include <algorithm>
#include <vector>

#include "core/error.h"
#include "core/input_file.h"

namespace mqcalib {

struct Sha256::Ctx {
  EVP_MD_CTX* md = nullptr;
  ~Ctx() { EVP_MD_CTX_free(md); }
};

Sha256::Sha256() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1)
    throw Error("sha256: libcrypto could not start a SHA-256 digest");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t bytes) {
  if (finished_) throw Error("sha256: update() after digest()");
  if (bytes > 0 && EVP_DigestUpdate(ctx_->md, data, bytes) != 1) throw Error("sha256: libcrypto digest update failed");
}

std::array<uint8_t, 32> Sha256::digest() {
  if (finished_) return digest_;
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md, digest_.data(), &n) != 1 || n != digest_.size())
    throw Error("sha256: libcrypto digest final failed");
  finished_ = true;
  return digest_;
}

std::string Sha256::hex() {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : digest()) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex();
}

std::string sha256_of_file(const std::string& path) {
  const InputFile f(path, "file to hash");  // a FIFO or device would never end
  Sha256 h;
  std::vector<char> buf(1 << 16);
  for (int64_t off = 0; off < f.size();) {
    const size_t n = static_cast<size_t>(std::min<int64_t>(static_cast<int64_t>(buf.size()), f.size() - off));
    f.read_exact(buf.data(), n, off);
    h.update(buf.data(), n);
    off += static_cast<int64_t>(n);
  }
  return h.hex();
}

}  // namespace mqcalib
