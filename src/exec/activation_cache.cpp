// mqcalib/src/exec/activation_cache.cpp: RAM + mmap-spill activation cache (see the header).
#include "exec/activation_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace mqcalib {

namespace {

std::string value_label(ValueId v) { return "activation cache: value " + std::to_string(v); }

}  // namespace

ActivationCache::ActivationCache(std::vector<ValueId> values, CacheOptions opt) : opt_(std::move(opt)) {
  for (ValueId v : values)
    if (entries_.emplace(v, Entry{}).second) order_.push_back(v);
}

ActivationCache::~ActivationCache() { close_file(); }

void ActivationCache::close_file() {
  if (map_) munmap(map_, static_cast<size_t>(map_size_));
  map_ = nullptr;
  map_size_ = 0;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  path_.clear();  // unlinked when created: nothing is left behind, even by a killed process
}

ActivationCache::ActivationCache(ActivationCache&& o) noexcept { *this = std::move(o); }

ActivationCache& ActivationCache::operator=(ActivationCache&& o) noexcept {
  if (this == &o) return *this;
  close_file();
  opt_ = std::move(o.opt_);
  order_ = std::move(o.order_);
  entries_ = std::move(o.entries_);
  bytes_in_ram_ = o.bytes_in_ram_;
  bytes_spilled_ = o.bytes_spilled_;
  peak_ram_ = o.peak_ram_;
  path_ = std::move(o.path_);
  fd_ = o.fd_;
  file_size_ = o.file_size_;
  map_ = o.map_;
  map_size_ = o.map_size_;
  o.path_.clear();
  o.fd_ = -1;
  o.map_ = nullptr;
  o.map_size_ = 0;
  o.file_size_ = 0;
  return *this;
}

const ActivationCache::Entry& ActivationCache::entry(ValueId v) const {
  auto it = entries_.find(v);
  if (it == entries_.end()) throw Error(value_label(v) + " is not cached");
  return it->second;
}

void ActivationCache::spill(Segment& s, const float* data, int64_t bytes) {
  if (fd_ < 0) {
    std::string dir = opt_.spill_dir;
    if (dir.empty()) {
      const char* t = std::getenv("TMPDIR");
      dir = t && *t ? t : "/tmp";
    }
    std::string tmpl = dir + "/mqcalib-actcache-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    fd_ = ::mkstemp(buf.data());
    if (fd_ < 0) throw Error("activation cache: cannot create a spill file in '" + dir + "': " + std::strerror(errno));
    path_ = buf.data();
    ::unlink(buf.data());  // the open descriptor keeps the data; no file outlives the process (issue 14)
  }
  int64_t done = 0;
  const char* p = reinterpret_cast<const char*>(data);
  while (done < bytes) {
    const ssize_t w = ::pwrite(fd_, p + done, static_cast<size_t>(bytes - done), static_cast<off_t>(file_size_ + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      throw Error("activation cache: write to spill file '" + path_ + "' failed: " + std::strerror(errno));
    }
    done += w;
  }
  s.file_offset = file_size_;
  file_size_ += bytes;
  bytes_spilled_ += bytes;
  // Remap the whole file so const reads never need to (they may run concurrently).
  if (map_) munmap(map_, static_cast<size_t>(map_size_));
  map_ = ::mmap(nullptr, static_cast<size_t>(file_size_), PROT_READ, MAP_SHARED, fd_, 0);
  if (map_ == MAP_FAILED) {
    map_ = nullptr;
    map_size_ = 0;
    throw Error("activation cache: mmap of spill file '" + path_ + "' failed: " + std::strerror(errno));
  }
  map_size_ = file_size_;
}

void ActivationCache::append(ValueId v, ViewF32 batch) {
  auto it = entries_.find(v);
  if (it == entries_.end()) throw Error(value_label(v) + " is not cached");
  Entry& e = it->second;
  if (batch.shape.empty()) throw Error(value_label(v) + ": a batch needs a batch dim, got a scalar");
  const Shape ss(batch.shape.begin() + 1, batch.shape.end());
  if (e.samples == 0 && e.segs.empty()) {
    e.sample_shape = ss;
    e.sample_numel = numel(ss);
  } else if (ss != e.sample_shape) {
    throw Error(value_label(v) + ": sample shape " + shape_to_string(ss) + " differs from earlier batches' " +
                shape_to_string(e.sample_shape));
  }
  const int64_t n = batch.shape[0];
  if (n == 0) return;
  Segment s;
  s.first = e.samples;
  s.count = n;
  const int64_t bytes = n * e.sample_numel * static_cast<int64_t>(sizeof(float));
  if (opt_.ram_budget_bytes < 0 || bytes_in_ram_ + bytes <= opt_.ram_budget_bytes) {
    s.ram.assign(batch.data, batch.data + n * e.sample_numel);
    bytes_in_ram_ += bytes;
    peak_ram_ = std::max(peak_ram_, bytes_in_ram_);
  } else {
    spill(s, batch.data, bytes);
  }
  e.segs.push_back(std::move(s));
  e.samples += n;
}

int64_t ActivationCache::num_samples(ValueId v) const { return entry(v).samples; }
const Shape& ActivationCache::sample_shape(ValueId v) const { return entry(v).sample_shape; }

const ActivationCache::Segment& ActivationCache::segment_of(const Entry& e, int64_t sample) const {
  auto it = std::upper_bound(e.segs.begin(), e.segs.end(), sample,
                             [](int64_t s, const Segment& seg) { return s < seg.first; });
  return *(it - 1);
}

const float* ActivationCache::segment_data(const Segment& s) const {
  if (s.file_offset < 0) return s.ram.data();
  return reinterpret_cast<const float*>(static_cast<const char*>(map_) + s.file_offset);
}

void ActivationCache::read(ValueId v, int64_t begin, int64_t count, float* dst) const {
  const Entry& e = entry(v);
  if (begin < 0 || count < 0 || begin + count > e.samples)
    throw Error(value_label(v) + ": samples [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                ") out of range (" + std::to_string(e.samples) + " cached)");
  int64_t s = begin;
  while (s < begin + count) {
    const Segment& seg = segment_of(e, s);
    const int64_t take = std::min(begin + count, seg.first + seg.count) - s;
    float* out = dst + (s - begin) * e.sample_numel;
    const int64_t bytes = static_cast<int64_t>(sizeof(float)) * take * e.sample_numel;
    if (seg.file_offset < 0) {
      std::memcpy(out, segment_data(seg) + (s - seg.first) * e.sample_numel, static_cast<size_t>(bytes));
    } else {
      // pread, not a copy from the mapping: pages read through a mapping stay resident in the process
      // (its RSS) for the mapping's life; read(2) leaves them in the kernel's page cache only.
      const int64_t at = seg.file_offset + static_cast<int64_t>(sizeof(float)) * (s - seg.first) * e.sample_numel;
      for (int64_t done = 0; done < bytes;) {
        const ssize_t r = ::pread(fd_, reinterpret_cast<char*>(out) + done, static_cast<size_t>(bytes - done),
                                  static_cast<off_t>(at + done));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) throw Error(value_label(v) + ": read from spill file '" + path_ + "' failed: " + std::strerror(errno));
        done += r;
      }
    }
    s += take;
  }
}

TensorF32 ActivationCache::read(ValueId v, int64_t begin, int64_t count) const {
  Shape s{count};
  const Shape& ss = entry(v).sample_shape;
  s.insert(s.end(), ss.begin(), ss.end());
  TensorF32 t(s);
  read(v, begin, count, t.data());
  return t;
}

bool ActivationCache::is_contiguous(ValueId v, int64_t begin, int64_t count) const {
  const Entry& e = entry(v);
  if (begin < 0 || count <= 0 || begin + count > e.samples) return false;
  const Segment& seg = segment_of(e, begin);
  return begin + count <= seg.first + seg.count;
}

ViewF32 ActivationCache::view(ValueId v, int64_t begin, int64_t count) const {
  if (!is_contiguous(v, begin, count))
    throw Error(value_label(v) + ": samples [" + std::to_string(begin) + ", " + std::to_string(begin + count) +
                ") are not in one stored batch (use read)");
  const Entry& e = entry(v);
  const Segment& seg = segment_of(e, begin);
  Shape s{count};
  s.insert(s.end(), e.sample_shape.begin(), e.sample_shape.end());
  return ViewF32{segment_data(seg) + (begin - seg.first) * e.sample_numel, s};
}

ActivationCache collect_activations(const Executor& ex, const std::function<bool(std::vector<TensorF32>&)>& next_batch,
                                    const std::vector<ValueId>& values, const CacheOptions& opt,
                                    const ValueHook& extra_hook) {
  ActivationCache cache(values, opt);
  std::vector<TensorF32> inputs;
  while (true) {
    inputs.clear();
    if (!next_batch(inputs)) break;
    ex.run(inputs, [&](ValueId v, TensorF32& t) {
      if (extra_hook) extra_hook(v, t);
      if (cache.has(v)) cache.append(v, t);
    });
  }
  return cache;
}

ActivationCache collect_activations(const Executor& ex, const std::vector<std::vector<TensorF32>>& batches,
                                    const std::vector<ValueId>& values, const CacheOptions& opt,
                                    const ValueHook& extra_hook) {
  size_t k = 0;
  return collect_activations(
      ex,
      [&](std::vector<TensorF32>& in) {
        if (k >= batches.size()) return false;
        in = batches[k++];
        return true;
      },
      values, opt, extra_hook);
}

std::vector<ValueId> node_io_values(const Graph& g, const std::vector<std::string>& node_names) {
  std::vector<ValueId> out;
  auto add = [&](ValueId v) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  };
  for (const std::string& name : node_names) {
    const Node& n = g.find_node(name);
    for (ValueId v : n.inputs) add(v);
    for (ValueId v : n.outputs) add(v);
  }
  return out;
}

}  // namespace mqcalib
