// backends/cpu/memory.cpp — copy_ and fill_ on the host.
// copy_: contiguous same-dtype copies are one parallel memcpy; other same-dtype copies (permuted or sliced views
// made contiguous: transposes, pixel_shuffle, cat) merge what dims they can, then copy blocks of rows in parallel
// with plain strided loops. Converting copies go to the reference walk.
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {
namespace {

// Dims of dst/src with size-1 dims dropped and neighbours merged where both tensors allow it, walked in dst's memory
// order (a channels-last dst runs as N, H, W, C: cat along channels copies rows of C).
struct CopyGeometry {
    Shape sizes, dst_strides, src_strides;
};

CopyGeometry coalesce(const Tensor& dst, const Tensor& src) {
    CopyGeometry g;
    for (int64_t d : memory_order(dst.strides())) {
        const int64_t n = dst.size(d), sd = dst.stride(d), ss = src.stride(d);
        if (n == 1) continue;
        if (!g.sizes.empty() && g.dst_strides.back() == sd * n && g.src_strides.back() == ss * n) {
            g.sizes.back() *= n;
            g.dst_strides.back() = sd;
            g.src_strides.back() = ss;
            continue;
        }
        g.sizes.push_back(n);
        g.dst_strides.push_back(sd);
        g.src_strides.push_back(ss);
    }
    while (g.sizes.size() < 2) {  // pad to at least two dims
        g.sizes.insert(g.sizes.begin(), 1);
        g.dst_strides.insert(g.dst_strides.begin(), 0);
        g.src_strides.insert(g.src_strides.begin(), 0);
    }
    return g;
}

template <class T>
void strided_copy(T* d, const T* s, const CopyGeometry& g) {
    // A work item is a block of `block_rows` rows of the second-to-last dim, or a piece of one long row, so that both
    // many short rows (pixel_shuffle: rows of 2) and a few long ones (cat along channels) spread over the threads.
    const size_t nd = g.sizes.size();
    const int64_t rows = g.sizes[nd - 2], cols = g.sizes[nd - 1];
    const int64_t drs = g.dst_strides[nd - 2], dcs = g.dst_strides[nd - 1];
    const int64_t srs = g.src_strides[nd - 2], scs = g.src_strides[nd - 1];
    int64_t planes = 1;
    for (size_t i = 0; i + 2 < nd; ++i) planes *= g.sizes[i];
    constexpr int64_t kPiece = 1 << 14;
    const int64_t pieces = std::max<int64_t>(1, cols / kPiece), piece_len = (cols + pieces - 1) / pieces;
    const int64_t block_rows = std::clamp<int64_t>(kPiece / std::max<int64_t>(cols, 1), 1, rows);
    const int64_t blocks = (rows + block_rows - 1) / block_rows;
    parallel_for(0, planes * blocks * pieces, 1, [&](int64_t begin, int64_t end) {
        for (int64_t w = begin; w < end; ++w) {
            int64_t rem = w / (blocks * pieces), od = 0, os = 0;
            for (int64_t i = static_cast<int64_t>(nd) - 3; i >= 0; --i) {
                const int64_t idx = rem % g.sizes[i];
                rem /= g.sizes[i];
                od += idx * g.dst_strides[i];
                os += idx * g.src_strides[i];
            }
            const int64_t r0 = (w / pieces % blocks) * block_rows, r1 = std::min(rows, r0 + block_rows);
            const int64_t c0 = (w % pieces) * piece_len, n = std::min(piece_len, cols - c0);
            for (int64_t r = r0; r < r1; ++r) {
                T* dr = d + od + r * drs + c0 * dcs;
                const T* sr = s + os + r * srs + c0 * scs;
                if (dcs == 1 && scs == 1)
                    std::memcpy(dr, sr, static_cast<size_t>(n) * sizeof(T));
                else
                    for (int64_t c = 0; c < n; ++c) dr[c * dcs] = sr[c * scs];
            }
        }
    });
}

}  // namespace

void CpuBackend::copy_(const Tensor& dst, const Tensor& src) {
    if (dst.dtype() != src.dtype()) return ReferenceBackend::copy_(dst, src);
    if (dst.is_contiguous() && src.is_contiguous()) {
        const int64_t nbytes = dst.numel() * static_cast<int64_t>(element_size(dst.dtype()));
        char* d = static_cast<char*>(dst.raw_data());
        const char* s = static_cast<const char*>(src.raw_data());
        parallel_for(0, nbytes, 1 << 20,
                     [&](int64_t begin, int64_t end) { std::memcpy(d + begin, s + begin, end - begin); });
        return;
    }
    if (dst.numel() == 0) return;
    const CopyGeometry g = coalesce(dst, src);
    dispatch_all(dst.dtype(), [&]<class T>() { strided_copy(dst.data_ptr<T>(), src.data_ptr<T>(), g); });
}

void CpuBackend::fill_(const Tensor& dst, double value) {
    if (!dst.is_contiguous()) return ReferenceBackend::fill_(dst, value);
    dispatch_all(dst.dtype(), [&]<class T>() {
        T* d = dst.data_ptr<T>();
        T v = convert_element<T>(value);  // defined for every dtype (uint8 wraps through int64, as PyTorch)
        parallel_for(0, dst.numel(), 1 << 16, [&](int64_t begin, int64_t end) { std::fill(d + begin, d + end, v); });
    });
}

}  // namespace nabla
