// mqcalib/src/export/strict_json_reader.cpp: see strict_json_reader.h.
#include "export/strict_json_reader.h"

#include <cmath>
#include <set>

#include "core/error.h"

namespace mqcalib {

void StrictJsonReader::fail(const std::string& path, const std::string& what) const {
  throw Error("params file '" + source_ + "': key '" + path + "': " + what);
}

void StrictJsonReader::expect_keys(const FloatJson& j, const std::string& path, std::initializer_list<const char*> keys,
                                   std::initializer_list<const char*> optional) const {
  expect_keys_impl(j, path, keys, std::vector<std::string>(optional.begin(), optional.end()));
}

void StrictJsonReader::expect_keys_impl(const FloatJson& j, const std::string& path,
                                        std::initializer_list<const char*> keys,
                                        const std::vector<std::string>& optional) const {
  if (!j.is_object()) fail(path.empty() ? "<root>" : path, "expected an object, got " + std::string(j.type_name()));
  std::set<std::string> allowed(optional.begin(), optional.end());
  for (const char* k : keys) {
    allowed.insert(k);
    if (!j.contains(k)) fail(join(path, k), "missing");
  }
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!allowed.count(it.key()))
      fail(join(path, it.key()), "unknown key" + (unknown_note_.empty() ? "" : " (" + unknown_note_ + ")"));
}

std::string StrictJsonReader::str(const FloatJson& j, const std::string& path) const {
  if (!j.is_string()) fail(path, "expected a string, got " + std::string(j.type_name()));
  return j.get<std::string>();
}

bool StrictJsonReader::boolean(const FloatJson& j, const std::string& path) const {
  if (!j.is_boolean()) fail(path, "expected true or false, got " + std::string(j.type_name()));
  return j.get<bool>();
}

int64_t StrictJsonReader::integer(const FloatJson& j, const std::string& path, int64_t lo, int64_t hi) const {
  if (!j.is_number_integer()) fail(path, "expected an integer, got " + j.dump());
  const std::string range = " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  int64_t v;
  if (j.is_number_unsigned()) {
    const uint64_t u = j.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) fail(path, j.dump() + range);
    v = static_cast<int64_t>(u);
  } else {
    v = j.get<int64_t>();
  }
  if (v < lo || v > hi) fail(path, j.dump() + range);
  return v;
}

uint64_t StrictJsonReader::unsigned_integer(const FloatJson& j, const std::string& path) const {
  if (!j.is_number_unsigned()) fail(path, "expected a non-negative integer, got " + j.dump());
  return j.get<uint64_t>();
}

float StrictJsonReader::number(const FloatJson& j, const std::string& path) const {
  if (j.is_number_float()) return j.get<float>();
  if (j.is_number_integer()) return static_cast<float>(j.get<int64_t>());
  fail(path, "expected a number, got " + j.dump());
}

double StrictJsonReader::non_negative(const FloatJson& j, const std::string& path) const {
  if (!j.is_number()) fail(path, "expected a number, got " + j.dump());
  const double v = j.get<double>();
  if (!std::isfinite(v) || v < 0.0) fail(path, "expected a finite number >= 0, got " + j.dump());
  return v;
}

std::vector<float> StrictJsonReader::floats(const FloatJson& j, const std::string& path, bool positive) const {
  if (!j.is_array()) fail(path, "expected an array of numbers, got " + std::string(j.type_name()));
  std::vector<float> v;
  for (size_t i = 0; i < j.size(); ++i) {
    v.push_back(number(j[i], index(path, i)));
    if (!std::isfinite(v.back())) fail(index(path, i), "not a finite float32");
    if (positive && !(v.back() > 0.0f)) fail(index(path, i), "expected a positive finite scale");
  }
  return v;
}

std::vector<std::string> StrictJsonReader::strings(const FloatJson& j, const std::string& path) const {
  if (!j.is_array()) fail(path, "expected an array of strings, got " + std::string(j.type_name()));
  std::vector<std::string> v;
  for (size_t i = 0; i < j.size(); ++i) v.push_back(str(j[i], index(path, i)));
  return v;
}

std::string StrictJsonReader::one_of(const FloatJson& j, const std::string& path,
                                     std::initializer_list<const char*> values) const {
  const std::string s = str(j, path);
  std::string known;
  for (const char* v : values) {
    if (s == v) return s;
    known += (known.empty() ? "\"" : ", \"") + std::string(v) + "\"";
  }
  fail(path, "unknown value \"" + s + "\" (expected one of " + known + ")");
}

std::map<std::string, std::string> StrictJsonReader::string_map(const FloatJson& j, const std::string& path) const {
  if (!j.is_object()) fail(path, "expected an object {name: string}");
  std::map<std::string, std::string> m;
  for (auto it = j.begin(); it != j.end(); ++it) m[it.key()] = str(it.value(), join(path, it.key()));
  return m;
}

std::map<std::string, int> StrictJsonReader::int_map(const FloatJson& j, const std::string& path, int lo,
                                                     int hi) const {
  if (!j.is_object()) fail(path, "expected an object {name: integer}");
  std::map<std::string, int> m;
  for (auto it = j.begin(); it != j.end(); ++it)
    m[it.key()] = static_cast<int>(integer(it.value(), join(path, it.key()), lo, hi));
  return m;
}

}  // namespace mqcalib
