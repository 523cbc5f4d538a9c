// mqcalib/src/exec/activation_cache.h: per-sample activations of chosen graph values over N
// calibration samples, in RAM up to a budget and spilled to a file-backed mmap cache beyond it.
//
// Storage is a list of segments per value, one per appended batch (a batch is never split, so any
// appended batch range can be viewed without a copy). A batch goes to RAM when it fits under the
// budget, else it is written (pwrite) to the end of a temporary spill file. read() copies spilled
// samples with pread (so the pages stay in the kernel's page cache, not in the process's resident
// set); view() maps the file read-only (mmap) for zero-copy access. RAM accounting (bytes_in_ram,
// peak_ram_bytes) counts the cache's own heap buffers, which never exceed the budget: margin 0. Pages
// of the spill file are page cache (file-backed, reclaimable by the kernel), not counted.
//
// The spill file is created with mkstemp in CacheOptions::spill_dir and deleted by the destructor.
// Reads are const and safe from several threads once appends are finished; an append may remap
// the file and invalidates earlier views.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "exec/executor.h"
#include "graph/ir.h"

namespace mqcalib {

struct CacheOptions {
  int64_t ram_budget_bytes = -1;  // < 0: unlimited (never spill); 0: spill everything
  std::string spill_dir;          // empty: $TMPDIR, else /tmp
};

class ActivationCache {
 public:
  ActivationCache(std::vector<ValueId> values, CacheOptions opt);
  ~ActivationCache();
  ActivationCache(const ActivationCache&) = delete;
  ActivationCache& operator=(const ActivationCache&) = delete;
  ActivationCache(ActivationCache&& o) noexcept;
  ActivationCache& operator=(ActivationCache&& o) noexcept;

  const std::vector<ValueId>& values() const { return order_; }
  bool has(ValueId v) const { return entries_.count(v) != 0; }

  // Appends a batch [n, ...] of value v (its samples get the next indices). The per-sample shape
  // must match earlier batches. Throws Error naming the value id otherwise.
  void append(ValueId v, ViewF32 batch);

  int64_t num_samples(ValueId v) const;
  const Shape& sample_shape(ValueId v) const;  // without the batch dim

  // Copies samples [begin, begin + count) into dst (count * numel(sample_shape) floats).
  void read(ValueId v, int64_t begin, int64_t count, float* dst) const;
  TensorF32 read(ValueId v, int64_t begin, int64_t count) const;  // shape [count, sample_shape...]
  // Zero-copy view of samples [begin, begin + count) when they lie in one stored segment (e.g. any
  // appended batch); throws Error otherwise (use read). Valid until the next append.
  bool is_contiguous(ValueId v, int64_t begin, int64_t count) const;
  ViewF32 view(ValueId v, int64_t begin, int64_t count) const;

  int64_t bytes_in_ram() const { return bytes_in_ram_; }
  int64_t bytes_spilled() const { return bytes_spilled_; }
  int64_t peak_ram_bytes() const { return peak_ram_; }
  // The spill file's name (for messages): empty until the first spill. The file is unlinked as soon as
  // it is created (the descriptor keeps it), so it never outlives the process, even a killed one.
  const std::string& spill_path() const { return path_; }

 private:
  struct Segment {
    int64_t first = 0, count = 0;
    std::vector<float> ram;    // in RAM when file_offset < 0
    int64_t file_offset = -1;  // bytes into the spill file
  };
  struct Entry {
    Shape sample_shape;
    int64_t sample_numel = 0;
    int64_t samples = 0;
    std::vector<Segment> segs;
  };
  const Entry& entry(ValueId v) const;
  const Segment& segment_of(const Entry& e, int64_t sample) const;
  const float* segment_data(const Segment& s) const;
  void spill(Segment& s, const float* data, int64_t bytes);
  void close_file();

  CacheOptions opt_;
  std::vector<ValueId> order_;
  std::unordered_map<ValueId, Entry> entries_;
  int64_t bytes_in_ram_ = 0, bytes_spilled_ = 0, peak_ram_ = 0;
  std::string path_;
  int fd_ = -1;
  int64_t file_size_ = 0;
  void* map_ = nullptr;
  int64_t map_size_ = 0;
};

// Runs `ex` over every batch given by `next_batch` (fills the graph inputs and returns true, or
// returns false when done) and caches `values`. `extra_hook` (optional) runs first on every value,
// e.g. fake quantization, so the cache holds what consumers see.
ActivationCache collect_activations(const Executor& ex, const std::function<bool(std::vector<TensorF32>&)>& next_batch,
                                    const std::vector<ValueId>& values, const CacheOptions& opt,
                                    const ValueHook& extra_hook = {});
ActivationCache collect_activations(const Executor& ex, const std::vector<std::vector<TensorF32>>& batches,
                                    const std::vector<ValueId>& values, const CacheOptions& opt,
                                    const ValueHook& extra_hook = {});

// The inputs and outputs of the named nodes (what reconstruction of a block needs), deduplicated,
// in first-seen order. Throws Error naming a missing node.
std::vector<ValueId> node_io_values(const Graph& g, const std::vector<std::string>& node_names);

}  // namespace mqcalib
