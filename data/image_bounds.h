// mqcalib/data/image_bounds.h: what an image file may make the decoder (stb_image) allocate,
// checked on the encoded bytes before stb sees them (issue 14; stb trusts lengths in the file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mqcalib {
namespace data_detail {

enum class ImageKind { Png, Jpeg };

// PNG by its 8-byte signature, JPEG by its SOI marker FF D8 FF; anything else (GIF, BMP, PSD, HDR,
// ... which stb would also try) is an Error naming the file: the image folder reads PNG and JPEG.
ImageKind image_kind(const uint8_t* b, size_t n, const std::string& file);

// PNG: every chunk's length fits in the bytes that follow it (stb allocates a chunk's stated
// length before reading it: a 100-byte file could ask for 2 GB), and the IDAT stream inflates to
// no more than the IHDR's w x h x channels x depth needs (a zlib bomb in IDAT is inflated by stb
// into an unbounded buffer). Inflated here in 64 KiB pieces and counted, never kept.
void check_png_bounded(const std::string& bytes, const std::string& file);

}  // namespace data_detail
}  // namespace mqcalib
