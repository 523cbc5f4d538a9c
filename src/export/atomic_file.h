// mqcalib/src/export/atomic_file.h: the one way output files are written (docs/STYLE.md "Errors and
// files"): never a partial or corrupt file at `path`.
#pragma once

#include <string>
#include <string_view>

namespace mqcalib {

// Writes `bytes` to `<path>.tmp` in the same directory, flushes and fsyncs it, renames it over
// `path` (atomic on POSIX), then fsyncs the directory. On any failure the temporary file is removed,
// `path` keeps its previous content (or stays absent), and mqcalib::Error names `path` and the
// failing step with strerror. A pre-existing `<path>.tmp` that is not a regular file is left alone.
void write_file_atomic(const std::string& path, std::string_view bytes);

}  // namespace mqcalib
