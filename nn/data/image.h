// nn/data/image.h — reading and writing image files (torchvision.io.read_image / decode_image / write_png /
// write_jpeg) and the uint8 <-> float conversions of ToTensor and save_image.
//   Tensor img = read_image("cat.jpg", ImageMode::RGB);   // uint8 [3, H, W]
//   Tensor x = to_float(img);                               // float32 [3, H, W] in [0, 1]
//   write_png("out.png", to_uint8(x));
// Decoding is stb_image's (PNG, JPEG baseline and progressive, BMP); a file is read whole into memory and decoded
// from there, with no global state of our own, so DataLoader workers may call read_image concurrently. Any other
// format (by its magic bytes), an empty, corrupt or truncated file is an Error naming the function, the file and the
// fault: "read_image: /data/a.png: corrupt or truncated PNG (stb_image: bad zlib header)".
// 16-bit PNGs are reduced to 8 bits; EXIF orientation is not applied (torchvision's default). Mode conversions are
// stb_image's: grey = (77 R + 150 G + 29 B) >> 8 (torchvision's libpng/libjpeg weights differ by at most 1).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/tensor.h"

namespace nabla::data {

// torchvision.io.ImageReadMode: keep the file's channels, or convert to 1 (GRAY), 2 (GRAY_ALPHA), 3 (RGB),
// 4 (RGB_ALPHA).
enum class ImageMode { Unchanged, Gray, GrayAlpha, RGB, RGBA };

// The image in `path` as uint8 [C, H, W].
Tensor read_image(const std::string& path, ImageMode mode = ImageMode::Unchanged);
// The same from bytes in memory; `name` stands for the file in error messages.
Tensor decode_image(const uint8_t* data, size_t size, ImageMode mode = ImageMode::Unchanged,
                    const std::string& name = "<memory>");
// The height and width ({h, w}) an image's header gives, from its bytes, without decoding (the same checks and Errors
// as decode_image before it decodes): what a server checks an upload against before it spends memory on it.
Int2 image_size(const uint8_t* data, size_t size, const std::string& name = "<memory>");
// Whether read_image would succeed, mostly without decoding: the file exists, its format and header are valid and
// the size within the limit; a JPEG that does not end with its end-of-image marker or a PNG without its final IEND
// chunk (a truncated copy) is decoded to decide. What trainers run over a data set before training. An Error,
// worded as read_image's, says what is wrong.
void verify_image(const std::string& path);

// image: uint8 [C, H, W] with C in 1..4 (grey, grey+alpha, RGB, RGBA), or [H, W]. Written to "<path>.tmp.<pid>.<n>"
// and renamed over `path`, so a failed write never leaves a partial file; an Error names the path and the errno text.
void write_png(const std::string& path, const Tensor& image);
// The PNG file write_png would write, as bytes in memory (what a server sends).
std::string encode_png(const Tensor& image);
// JPEG has no alpha: C = 2 or 4 writes the grey or RGB channels only. stb always writes 3 components (YCbCr), so a
// grey image reads back with 3 equal channels unless read with ImageMode::Gray. quality in [1, 100].
void write_jpeg(const std::string& path, const Tensor& image, int quality = 95);

// uint8 [0, 255] -> float32 [0, 1]: x / 255, as ToTensor.
Tensor to_float(const Tensor& image);
// float [0, 1] -> uint8: (x * 255 + 0.5) clamped to [0, 255] and truncated, as save_image (values outside [0, 1] clip).
Tensor to_uint8(const Tensor& image);

}  // namespace nabla::data
