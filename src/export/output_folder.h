// mqcalib/src/export/output_folder.h: a run's output folder holds exactly one run's complete set.
//
// write_output_folder writes every file into a fresh staging folder beside `dir` (".<name>.new-<pid>"),
// fsyncs them, then swaps it with `dir` in one step (renameat2 RENAME_EXCHANGE; where the file system
// lacks it, two renames with the old set moved back on failure) and removes the old set. So `dir`
// holds the new set or, on any failure before the swap, the previous one, never a mix (a W8
// calib.cache beside a W4 record, AdaRound's weights/ beside a later nearest run) and never a partial
// file. Staging folders of dead processes are removed first.
// A `dir` that exists must be an empty folder or an mqcalib output folder (it holds params.json):
// anything else is refused, so a mistyped --out never replaces a folder of the user's.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace mqcalib {

// (path relative to the folder, bytes); paths may name sub-folders ("weights/x.npy").
using OutputFiles = std::vector<std::pair<std::string, std::string>>;

// Checks up front (before any work) that `dir` can receive an output set: the nearest existing folder
// above it is writable (missing folders are created), and `dir` is absent, empty or an mqcalib output
// folder. Throws Error naming `option` and dir.
void check_output_folder(const std::string& dir, const std::string& option = "--out");

void write_output_folder(const std::string& dir, const OutputFiles& files);

}  // namespace mqcalib
