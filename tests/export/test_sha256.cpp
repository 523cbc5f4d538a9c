// SHA-256 against the FIPS 180-2 test vectors (appendix B) and the empty message.
#include <doctest/doctest.h>

#include "export/sha256.h"
#include "export_test_util.h"

using namespace mqcalib;
using namespace mqcalib::export_test;

namespace {
// FIPS 180-2 appendix B.1 / B.2 / B.3, and the well-known digest of the empty string.
constexpr const char* kEmpty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kAbc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr const char* kTwoBlock = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr const char* kMillionA = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
}  // namespace

TEST_CASE("sha256: known vectors") {
  CHECK(sha256_hex("") == kEmpty);
  CHECK(sha256_hex("abc") == kAbc);
  CHECK(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") == kTwoBlock);
  CHECK(sha256_hex(std::string(1000000, 'a')) == kMillionA);
}

TEST_CASE("sha256: streaming in odd-sized pieces gives the one-shot digest") {
  // One million 'a' fed in pieces of 1, 55, 56, 63, 64, 65, 4095 bytes (across every padding case).
  for (size_t piece : {1, 55, 56, 63, 64, 65, 4095}) {
    Sha256 h;
    size_t left = 1000000;
    const std::string chunk(piece, 'a');
    while (left > 0) {
      const size_t n = std::min(left, piece);
      h.update(chunk.data(), n);
      left -= n;
    }
    CHECK_MESSAGE(h.hex() == kMillionA, "piece size " << piece);
    CHECK(h.hex() == kMillionA);  // digest again: same value
    CHECK(!error_message([&] { h.update("x"); }).empty());
  }
}

TEST_CASE("sha256: of a file, and of a missing file") {
  TempDir dir;
  write_text(dir.file("abc.bin"), "abc");
  CHECK(sha256_of_file(dir.file("abc.bin")) == kAbc);
  write_text(dir.file("empty.bin"), "");
  CHECK(sha256_of_file(dir.file("empty.bin")) == kEmpty);
  const std::string msg = error_message([&] { sha256_of_file(dir.file("absent.bin")); });
  CHECK(msg.find(dir.file("absent.bin")) != std::string::npos);
}
