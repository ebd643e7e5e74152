// backends/cuda/indexing.cu — the indexing kernels: index_select / index_add_, gather / scatter_add_, advanced
// indexing (index / index_put_), pad / pad_backward and flip. One thread per element of the tensor a kernel walks,
// in a grid-stride loop; the scatters (index_add_, scatter_add_, index_put_ with accumulate, pad_backward of reflect
// and replicate) add with atomics, since several threads may hit one element. Semantics: the reference backend
// (backends/reference/indexing.cpp); what an out-of-range index does here is in indexing.h.
#include <cuda_runtime.h>

#include <cstdint>
#include <cub/device/device_radix_sort.cuh>

#include "backends/common/pad_math.h"
#include "backends/cuda/indexing.h"
#include "backends/cuda/launch.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

__device__ inline int64_t first_item() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t item_stride() { return int64_t(blockDim.x) * gridDim.x; }

// --- atomics for every dtype the reference's `+=` takes ---

template <class T>
__device__ inline void atomic_add(T* p, T v) {
    atomicAdd(p, v);  // float, double (sm_60+)
}
template <>
__device__ inline void atomic_add<int64_t>(int64_t* p, int64_t v) {
    // two's complement: the unsigned sum has the bits of the signed one
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
}
// The bytes: a compare-and-swap on the aligned 32-bit word that holds the byte (allocations are at least 256-byte
// aligned and granular, so the word never leaves the allocation).
__device__ inline unsigned int* word_of(const void* p, unsigned int& shift) {
    const auto a = reinterpret_cast<uintptr_t>(p);
    shift = static_cast<unsigned int>(a & 3) * 8;
    return reinterpret_cast<unsigned int*>(a & ~uintptr_t{3});
}
template <>
__device__ inline void atomic_add<uint8_t>(uint8_t* p, uint8_t v) {
    unsigned int shift = 0;
    unsigned int* w = word_of(p, shift);
    unsigned int old = *w, assumed = 0;
    do {
        assumed = old;
        const unsigned int sum = (((assumed >> shift) & 0xffu) + v) & 0xffu;  // uint8 wraps, as `+=` on the host
        old = atomicCAS(w, assumed, (assumed & ~(0xffu << shift)) | (sum << shift));
    } while (assumed != old);
}
template <>
__device__ inline void atomic_add<bool>(bool* p, bool v) {
    // bool += bool is true when either is: an OR of the byte's low bit (a bool byte holds 0 or 1)
    if (!v) return;
    unsigned int shift = 0;
    atomicOr(word_of(p, shift), 1u << shift);
}

// i if it lies in [0, size) (after wrapping [-size, 0) where `wrap`), else -1.
__device__ inline int64_t checked_index(int64_t i, int64_t size, bool wrap) {
    if (wrap && i < 0) i += size;
    return i >= 0 && i < size ? i : -1;
}

// The offset of advanced-indexing position p (the sum of its wrapped indices times the strides); false when one of
// them is out of range.
__device__ inline bool advanced_base(const AdvancedIndex& ai, int64_t p, int64_t& base) {
    base = 0;
    for (int t = 0; t < ai.k; ++t) {
        const int64_t i = checked_index(ai.dims[t].index[p], ai.dims[t].size, /*wrap=*/true);
        if (i < 0) return false;
        base += i * ai.dims[t].stride;
    }
    return true;
}

// --- index_select / index_add_ ---

template <class T>
__global__ void index_select_kernel(const T* x, const __grid_constant__ StridedIndexer<1> ix, IndexedDim dim, int64_t m,
                                    int64_t inner, T* y, int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        const int64_t i = checked_index(dim.index[(e / inner) % m], dim.size, /*wrap=*/false);
        int64_t o[1];
        ix.offsets(e, o);
        y[e] = i >= 0 ? x[o[0] + i * dim.stride] : T(0);
    }
}

template <class T>
__global__ void index_add_kernel(T* out, const __grid_constant__ StridedIndexer<2> ix, IndexedDim dim, int64_t m,
                                 int64_t inner, const T* src, int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        const int64_t i = checked_index(dim.index[(e / inner) % m], dim.size, /*wrap=*/false);
        if (i < 0) continue;
        int64_t o[2];
        ix.offsets(e, o);
        atomic_add(out + o[0] + i * dim.stride, src[o[1]]);
    }
}

// --- gather / scatter_add_ ---

template <class T>
__global__ void gather_kernel(const T* x, const __grid_constant__ StridedIndexer<1> ix, IndexedDim dim, T* y,
                              int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        const int64_t i = checked_index(dim.index[e], dim.size, /*wrap=*/false);
        int64_t o[1];
        ix.offsets(e, o);
        y[e] = i >= 0 ? x[o[0] + i * dim.stride] : T(0);
    }
}

template <class T>
__global__ void scatter_add_kernel(T* out, const __grid_constant__ StridedIndexer<2> ix, IndexedDim dim, const T* src,
                                   int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        const int64_t i = checked_index(dim.index[e], dim.size, /*wrap=*/false);
        if (i < 0) continue;
        int64_t o[2];
        ix.offsets(e, o);
        atomic_add(out + o[0] + i * dim.stride, src[o[1]]);
    }
}

// --- index / index_put_ ---

template <class T>
__global__ void index_kernel(const T* x, const __grid_constant__ AdvancedIndex ai,
                             const __grid_constant__ StridedIndexer<1> rest_ix, int64_t r, T* y, int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        int64_t base = 0, o[1];
        const bool valid = advanced_base(ai, e / r, base);
        rest_ix.offsets(e % r, o);
        y[e] = valid ? x[base + o[0]] : T(0);
    }
}

template <class T>
__global__ void index_put_accumulate_kernel(T* out, const __grid_constant__ AdvancedIndex ai,
                                            const __grid_constant__ StridedIndexer<1> rest_ix, int64_t r,
                                            const T* values, const __grid_constant__ StridedIndexer<1> values_ix,
                                            int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        int64_t base = 0, o[1], v[1];
        if (!advanced_base(ai, e / r, base)) continue;
        rest_ix.offsets(e % r, o);
        values_ix.offsets(e, v);
        atomic_add(out + base + o[0], values[v[0]]);
    }
}

// The key of position p for the assignment's sort: the row-major number of the element [i0, ..., ik-1] in out's
// first k dims, or `invalid` (one past the last) when an index is out of range.
__global__ void index_put_keys_kernel(const __grid_constant__ AdvancedIndex ai, uint64_t invalid, uint64_t* keys,
                                      int64_t* positions, int64_t count) {
    for (int64_t p = first_item(); p < count; p += item_stride()) {
        uint64_t key = 0;
        for (int t = 0; t < ai.k; ++t) {
            const int64_t i = checked_index(ai.dims[t].index[p], ai.dims[t].size, /*wrap=*/true);
            if (i < 0) {
                key = invalid;
                break;
            }
            key = key * static_cast<uint64_t>(ai.dims[t].size) + static_cast<uint64_t>(i);
        }
        keys[p] = key;
        positions[p] = p;
    }
}

// Assignment. With `keys` (the positions sorted stably by key, so repeats of one element sit together in their
// original order), item s writes only if it is the last of its run: the last write in order wins, as on the host.
// Without (a single position), item s is position s.
template <class T>
__global__ void index_put_assign_kernel(T* out, const __grid_constant__ AdvancedIndex ai,
                                        const __grid_constant__ StridedIndexer<1> rest_ix, int64_t r, const T* values,
                                        const __grid_constant__ StridedIndexer<1> values_ix, const uint64_t* keys,
                                        const int64_t* positions, int64_t count, int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        const int64_t s = e / r, j = e % r;
        int64_t p = s;
        if (keys) {
            if (s + 1 < count && keys[s + 1] == keys[s]) continue;  // a later write of this element wins
            p = positions[s];
        }
        int64_t base = 0, o[1], v[1];
        if (!advanced_base(ai, p, base)) continue;
        rest_ix.offsets(j, o);
        values_ix.offsets(p * r + j, v);
        out[base + o[0]] = values[v[0]];
    }
}

// --- pad / pad_backward ---

template <PadMode Mode, class T>
__global__ void pad_kernel(const T* x, T* y, const __grid_constant__ PadGeometry g, T fill, int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        int64_t rem = e, off = 0;
        bool inside = true;
        for (int d = g.ndim - 1; d >= 0; --d) {
            const int64_t s = pad_source_index(rem % g.out_size[d], g.in_size[d], g.before[d], Mode);
            rem /= g.out_size[d];
            if (s < 0) {
                inside = false;  // in the constant border
                break;
            }
            off += s * g.in_stride[d];
        }
        y[e] = inside ? x[off] : fill;
    }
}

// gx[source(o)] += gy[o]. Reflect and replicate read some inputs several times: their gradients sum, atomically.
// (The host runs constant mode as a pad of gy instead, which needs neither atomics nor a zeroed gx.)
template <PadMode Mode, class T>
__global__ void pad_backward_kernel(const T* gy, T* gx, const __grid_constant__ PadGeometry g, int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        int64_t rem = e, in = 0, out = 0;
        bool inside = true;
        for (int d = g.ndim - 1; d >= 0; --d) {
            const int64_t o = rem % g.out_size[d];
            rem /= g.out_size[d];
            const int64_t s = pad_source_index(o, g.in_size[d], g.before[d], Mode);
            if (s < 0) {
                inside = false;  // a constant border reads no input
                break;
            }
            in += s * g.in_stride[d];
            out += o * g.out_stride[d];
        }
        if (inside) atomic_add(gx + in, gy[out]);
    }
}

// --- flip ---

template <class T>
__global__ void flip_kernel(const T* x, const __grid_constant__ StridedIndexer<1> ix, T* y, int64_t n) {
    for (int64_t e = first_item(); e < n; e += item_stride()) {
        int64_t o[1];
        ix.offsets(e, o);
        y[e] = x[o[0]];
    }
}

template <class F>
void visit_pad_mode(PadMode mode, F&& f) {
    switch (mode) {
        case PadMode::Constant: f.template operator()<PadMode::Constant>(); return;
        case PadMode::Reflect: f.template operator()<PadMode::Reflect>(); return;
        case PadMode::Replicate: f.template operator()<PadMode::Replicate>(); return;
    }
}

size_t align_up(size_t bytes) { return (bytes + 255) / 256 * 256; }

// Bits that hold every value in [0, v].
int bits_for(uint64_t v) {
    int b = 1;
    while (b < 64 && (v >> b) != 0) ++b;
    return b;
}

// index_put_'s workspace: keys and positions, each double-buffered for the radix sort, then CUB's scratch.
struct IndexPutLayout {
    size_t keys = 0, positions = 0, temp = 0, temp_bytes = 0, total = 0;
};

IndexPutLayout index_put_layout(int64_t count, int64_t prefix_numel) {
    IndexPutLayout l;
    const size_t n = static_cast<size_t>(count);
    l.keys = 0;
    l.positions = l.keys + 2 * align_up(n * sizeof(uint64_t));
    l.temp = l.positions + 2 * align_up(n * sizeof(int64_t));
    cub::DoubleBuffer<uint64_t> keys(nullptr, nullptr);
    cub::DoubleBuffer<int64_t> positions(nullptr, nullptr);
    check(cub::DeviceRadixSort::SortPairs(nullptr, l.temp_bytes, keys, positions, count, 0,
                                          bits_for(static_cast<uint64_t>(prefix_numel))),
          "index_put_ (sort size)");
    l.total = l.temp + align_up(l.temp_bytes);
    return l;
}

}  // namespace

void launch_index_select(DType dtype, const void* x, const StridedIndexer<1>& x_ix, IndexedDim dim, int64_t m,
                         int64_t inner, void* y, int64_t n) {
    Launch launch("index_select");
    dispatch_all(dtype, [&]<class T>() {
        index_select_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x), x_ix, dim, m,
                                                                                inner, static_cast<T*>(y), n);
    });
    launch.check();
}

void launch_index_add(DType dtype, void* out, const StridedIndexer<2>& ix, IndexedDim dim, int64_t m, int64_t inner,
                      const void* src, int64_t n) {
    Launch launch("index_add_");
    dispatch_all(dtype, [&]<class T>() {
        index_add_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<T*>(out), ix, dim, m, inner,
                                                                             static_cast<const T*>(src), n);
    });
    launch.check();
}

void launch_gather(DType dtype, const void* x, const StridedIndexer<1>& x_ix, IndexedDim dim, void* y, int64_t n) {
    Launch launch("gather");
    dispatch_all(dtype, [&]<class T>() {
        gather_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x), x_ix, dim,
                                                                          static_cast<T*>(y), n);
    });
    launch.check();
}

void launch_scatter_add(DType dtype, void* out, const StridedIndexer<2>& ix, IndexedDim dim, const void* src,
                        int64_t n) {
    Launch launch("scatter_add_");
    dispatch_all(dtype, [&]<class T>() {
        scatter_add_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<T*>(out), ix, dim,
                                                                               static_cast<const T*>(src), n);
    });
    launch.check();
}

void launch_index(DType dtype, const void* x, const AdvancedIndex& ai, const StridedIndexer<1>& rest_ix, int64_t r,
                  void* y, int64_t n) {
    Launch launch("index");
    dispatch_all(dtype, [&]<class T>() {
        index_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x), ai, rest_ix, r,
                                                                         static_cast<T*>(y), n);
    });
    launch.check();
}

int64_t index_put_workspace_bytes(int64_t positions, int64_t prefix_numel) {
    if (positions <= 1) return 0;  // one position cannot repeat: nothing to sort
    return static_cast<int64_t>(index_put_layout(positions, prefix_numel).total);
}

void launch_index_put(DType dtype, void* out, const AdvancedIndex& ai, const StridedIndexer<1>& rest_ix, int64_t r,
                      const void* values, const StridedIndexer<1>& values_ix, int64_t positions, int64_t prefix_numel,
                      bool accumulate, void* workspace, int64_t workspace_bytes) {
    const int64_t n = positions * r;
    Launch launch("index_put_");
    if (accumulate) {
        dispatch_all(dtype, [&]<class T>() {
            index_put_accumulate_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
                static_cast<T*>(out), ai, rest_ix, r, static_cast<const T*>(values), values_ix, n);
        });
        launch.check();
        return;
    }
    const uint64_t* keys = nullptr;
    const int64_t* order = nullptr;
    if (positions > 1) {  // sort the positions by the element they write, keeping their order among repeats
        const IndexPutLayout l = index_put_layout(positions, prefix_numel);
        NB_CHECK(workspace != nullptr && workspace_bytes >= static_cast<int64_t>(l.total), "index_put_: workspace of ",
                 workspace_bytes, " bytes, needs ", l.total);
        char* w = static_cast<char*>(workspace);
        const size_t kbytes = align_up(static_cast<size_t>(positions) * sizeof(uint64_t));
        const size_t pbytes = align_up(static_cast<size_t>(positions) * sizeof(int64_t));
        cub::DoubleBuffer<uint64_t> kbuf(reinterpret_cast<uint64_t*>(w + l.keys),
                                         reinterpret_cast<uint64_t*>(w + l.keys + kbytes));
        cub::DoubleBuffer<int64_t> pbuf(reinterpret_cast<int64_t*>(w + l.positions),
                                        reinterpret_cast<int64_t*>(w + l.positions + pbytes));
        index_put_keys_kernel<<<blocks_for(positions), kThreads, 0, launch.stream()>>>(
            ai, static_cast<uint64_t>(prefix_numel), kbuf.Current(), pbuf.Current(), positions);
        size_t temp_bytes = l.temp_bytes;
        check(cub::DeviceRadixSort::SortPairs(w + l.temp, temp_bytes, kbuf, pbuf, positions, 0,
                                              bits_for(static_cast<uint64_t>(prefix_numel)), launch.stream()),
              "index_put_ (sort)");
        keys = kbuf.Current();
        order = pbuf.Current();
    }
    dispatch_all(dtype, [&]<class T>() {
        index_put_assign_kernel<T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
            static_cast<T*>(out), ai, rest_ix, r, static_cast<const T*>(values), values_ix, keys, order, positions, n);
    });
    launch.check();
}

void launch_pad(DType dtype, const void* x, void* y, const PadGeometry& g, PadMode mode, double value, int64_t n) {
    Launch launch("pad");
    dispatch_all(dtype, [&]<class T>() {
        visit_pad_mode(mode, [&]<PadMode M>() {
            pad_kernel<M, T><<<blocks_for(n), kThreads, 0, launch.stream()>>>(
                static_cast<const T*>(x), static_cast<T*>(y), g, static_cast<T>(value), n);
        });
    });
    launch.check();
}

void launch_pad_backward(DType dtype, const void* gy, void* gx, const PadGeometry& g, PadMode mode, int64_t n) {
    Launch launch("pad_backward");
    dispatch_floating(dtype, "pad_backward", [&]<class T>() {
        visit_pad_mode(mode, [&]<PadMode M>() {
            pad_backward_kernel<M, T>
                <<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(gy), static_cast<T*>(gx), g, n);
        });
    });
    launch.check();
}

void launch_flip(DType dtype, const void* x, const StridedIndexer<1>& ix, void* y, int64_t n) {
    Launch launch("flip");
    dispatch_all(dtype, [&]<class T>() {
        flip_kernel<T>
            <<<blocks_for(n), kThreads, 0, launch.stream()>>>(static_cast<const T*>(x), ix, static_cast<T*>(y), n);
    });
    launch.check();
}

}  // namespace nabla::cuda
