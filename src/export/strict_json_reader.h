// mqcalib/src/export/strict_json_reader.h: the strict reading of JSON records (params.json and its
// transform keys): every accessor checks the JSON type and range and throws
//   Error "params file '<source>': key '<path>': <what>"
// so a bad file is reported by its key, never read half-way. Paths are dotted ("tensors[3].scheme.bits").
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "export/format_util.h"

namespace mqcalib {

class StrictJsonReader {
 public:
  explicit StrictJsonReader(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const;

  // `j` is an object; every key in `keys` is present; no key outside `keys` and `optional`. An unknown
  // key is reported with `unknown_note` after "unknown key" (for instance the format version read).
  void expect_keys(const FloatJson& j, const std::string& path, std::initializer_list<const char*> keys,
                   std::initializer_list<const char*> optional = {}) const;
  template <size_t N>
  void expect_keys(const FloatJson& j, const std::string& path, std::initializer_list<const char*> keys,
                   const char* const (&optional)[N]) const {
    expect_keys_impl(j, path, keys, std::vector<std::string>(std::begin(optional), std::end(optional)));
  }
  void set_unknown_key_note(std::string note) { unknown_note_ = std::move(note); }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }
  static std::string index(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

  std::string str(const FloatJson& j, const std::string& path) const;
  bool boolean(const FloatJson& j, const std::string& path) const;
  // An integer in [lo, hi].
  int64_t integer(const FloatJson& j, const std::string& path, int64_t lo, int64_t hi) const;
  uint64_t unsigned_integer(const FloatJson& j, const std::string& path) const;
  // Any JSON number as float32.
  float number(const FloatJson& j, const std::string& path) const;
  // A finite number >= 0.
  double non_negative(const FloatJson& j, const std::string& path) const;
  // An array of finite float32 numbers; with `positive`, each > 0 (scales).
  std::vector<float> floats(const FloatJson& j, const std::string& path, bool positive = false) const;
  std::vector<std::string> strings(const FloatJson& j, const std::string& path) const;
  // A string among `values`.
  std::string one_of(const FloatJson& j, const std::string& path, std::initializer_list<const char*> values) const;
  // {name: string}.
  std::map<std::string, std::string> string_map(const FloatJson& j, const std::string& path) const;
  // {name: integer in [lo, hi]}.
  std::map<std::string, int> int_map(const FloatJson& j, const std::string& path, int lo, int hi) const;

  // A string that is to_string(e) of one of `values`.
  template <typename Enum, size_t N>
  Enum enumeration(const FloatJson& j, const std::string& path, const Enum (&values)[N]) const {
    const std::string s = str(j, path);
    std::string known;
    for (Enum e : values) {
      if (s == to_string(e)) return e;
      known += (known.empty() ? "" : ", ") + std::string("\"") + std::string(to_string(e)) + "\"";
    }
    fail(path, "unknown value \"" + s + "\" (expected one of " + known + ")");
  }

  const std::string& source() const { return source_; }

 private:
  void expect_keys_impl(const FloatJson& j, const std::string& path, std::initializer_list<const char*> keys,
                        const std::vector<std::string>& optional) const;

  std::string source_;
  std::string unknown_note_;
};

}  // namespace mqcalib
