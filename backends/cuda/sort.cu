// backends/cuda/sort.cu — the stable sort of rows along one dim on CUB, for sort and topk (sort.cpp).
//
// Each element becomes an unsigned integer key whose ascending order is the reference's order
// (backends/reference/sort.cpp): floats get the radix-sort bit twiddle, with every NaN mapped to the largest key and
// -0.0 to the key of 0.0 (equal, as `<` has them), integers get their sign bit flipped, and descending inverts the
// key, so equal elements keep their original order in both directions. Sorting integer keys also keeps CUB's merge
// sort of short segments (which compares with `<`) away from NaN. The value carried is the element's position.
//
//   prepare: keys and positions of [outer, n, inner] laid out row after row ([outer, inner, n])
//   sort:    many rows: cub::DeviceSegmentedSort::StableSortPairs (one row per segment); a few long rows, which it
//            would give a thread block each: cub::DeviceRadixSort over all keys, then a stable radix pass on the row
//            number, which gathers every row's elements back together in their sorted order
//   finish:  the first k of each row: the position along dim, and the value read back from x (so NaN payloads and
//            the sign of zero come out as they went in)
// Positions are int32 (half the memory traffic of int64 in every radix pass); [outer] is processed in chunks of
// outer slices with fewer than 2^31 elements.
#include <cuda_runtime.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_segmented_sort.cuh>
#include <type_traits>

#include "backends/cuda/launch.h"
#include "backends/cuda/sort.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

__device__ inline int64_t first_item() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ inline int64_t item_stride() { return int64_t(blockDim.x) * gridDim.x; }

// The unsigned key type of each element type.
template <class T>
struct KeyOf;
template <>
struct KeyOf<float> {
    using type = uint32_t;
};
template <>
struct KeyOf<double> {
    using type = uint64_t;
};
template <>
struct KeyOf<int64_t> {
    using type = uint64_t;
};
template <>
struct KeyOf<uint8_t> {
    using type = uint8_t;
};
template <>
struct KeyOf<bool> {
    using type = uint8_t;
};
template <class T>
using key_t = typename KeyOf<T>::type;

// The ascending key of v: a < b (NaN above everything, -0.0 == 0.0) exactly when key(a) < key(b).
template <class T>
__device__ inline key_t<T> sort_key(T v) {
    if constexpr (std::is_same_v<T, float>) {
        if (v != v) return 0xffffffffu;                            // NaN: above the key of +inf (0xff800000)
        const uint32_t u = __float_as_uint(v == 0.0f ? 0.0f : v);  // -0.0 -> 0.0
        return (u & 0x80000000u) ? ~u : (u | 0x80000000u);         // negatives reversed below the positives
    } else if constexpr (std::is_same_v<T, double>) {
        if (v != v) return ~uint64_t{0};
        const uint64_t u = static_cast<uint64_t>(__double_as_longlong(v == 0.0 ? 0.0 : v));
        const uint64_t sign = uint64_t{1} << 63;
        return (u & sign) ? ~u : (u | sign);
    } else if constexpr (std::is_same_v<T, int64_t>) {
        return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
    } else {
        return static_cast<uint8_t>(v);  // uint8, and bool as 0 / 1
    }
}

// x is one chunk [outer_c, n, inner] (count elements), read in its own order; its element (o, j, q) goes to row
// o * inner + q, place j, with its position in the chunk's row-after-row layout. Also the rows' offsets (rows + 1
// of them) where the segmented sort needs them.
template <class T>
__global__ void sort_prepare_kernel(const T* x, int64_t n, int64_t inner, bool descending, key_t<T>* keys,
                                    int32_t* positions, int64_t count, int64_t* offsets, int64_t rows) {
    const int64_t slice = n * inner, end = offsets ? (count > rows + 1 ? count : rows + 1) : count;
    for (int64_t t = first_item(); t < end; t += item_stride()) {
        if (t < count) {
            const int64_t o = t / slice, j = (t % slice) / inner, q = t % inner;
            const int64_t at = (o * inner + q) * n + j;
            const key_t<T> key = sort_key(x[t]);
            keys[at] = descending ? static_cast<key_t<T>>(~key) : key;
            positions[at] = static_cast<int32_t>(at);
        }
        if (offsets && t <= rows) offsets[t] = t * n;
    }
}

// The row of each position, the key of the second radix pass of few long rows.
__global__ void sort_row_keys_kernel(const int32_t* positions, int64_t n, uint32_t* rows, int64_t count) {
    for (int64_t t = first_item(); t < count; t += item_stride()) rows[t] = static_cast<uint32_t>(positions[t] / n);
}

// values / indices [outer_c, k, inner], in their own order: place jj of row (o, q) of the sorted positions.
template <class T>
__global__ void sort_finish_kernel(const T* x, const int32_t* positions, int64_t n, int64_t inner, int64_t k, T* values,
                                   int64_t* indices, int64_t count) {
    const int64_t slice = k * inner;
    for (int64_t t = first_item(); t < count; t += item_stride()) {
        const int64_t o = t / slice, jj = (t % slice) / inner, q = t % inner;
        const int64_t row = o * inner + q;
        const int64_t j = positions[row * n + jj] - row * n;  // the element's place along dim
        indices[t] = j;
        values[t] = x[(o * n + j) * inner + q];
    }
}

size_t align_up(size_t bytes) { return (bytes + 255) / 256 * 256; }

int bits_for(uint64_t v) {  // bits that hold every value in [0, v]
    int b = 1;
    while (b < 64 && (v >> b) != 0) ++b;
    return b;
}

// Few long rows go through the device-wide radix sort (see the top of the file).
bool few_long_rows(int64_t rows, int64_t n) { return rows == 1 || (rows < 128 && n >= 4096); }

// The workspace of one chunk of `rows` rows of n: keys and positions (each double-buffered; a key buffer holds
// uint32 row numbers in the second radix pass), row offsets, then CUB's scratch.
struct SortLayout {
    bool radix = false;
    size_t key_bytes = 0, pos_bytes = 0;
    size_t keys = 0, positions = 0, offsets = 0, temp = 0, temp_bytes = 0, total = 0;
};

template <class K>
SortLayout sort_layout(int64_t rows, int64_t n) {
    SortLayout l;
    const int64_t count = rows * n;
    l.radix = few_long_rows(rows, n);
    l.key_bytes = align_up(static_cast<size_t>(count) * std::max(sizeof(K), sizeof(uint32_t)));
    l.pos_bytes = align_up(static_cast<size_t>(count) * sizeof(int32_t));
    l.keys = 0;
    l.positions = l.keys + 2 * l.key_bytes;
    l.offsets = l.positions + 2 * l.pos_bytes;
    l.temp = l.offsets + align_up(static_cast<size_t>(rows + 1) * sizeof(int64_t));
    cub::DoubleBuffer<K> keys(nullptr, nullptr);
    cub::DoubleBuffer<int32_t> positions(nullptr, nullptr);
    if (l.radix) {
        size_t a = 0, b = 0;
        cub::DoubleBuffer<uint32_t> row_keys(nullptr, nullptr);
        check(cub::DeviceRadixSort::SortPairs(nullptr, a, keys, positions, count), "sort (radix size)");
        check(cub::DeviceRadixSort::SortPairs(nullptr, b, row_keys, positions, count, 0,
                                              bits_for(static_cast<uint64_t>(rows - 1))),
              "sort (radix size)");
        l.temp_bytes = std::max(a, b);
    } else {
        const int64_t* offsets = nullptr;
        check(cub::DeviceSegmentedSort::StableSortPairs(nullptr, l.temp_bytes, keys, positions, count, rows, offsets,
                                                        offsets),
              "sort (segmented size)");
    }
    l.total = l.temp + align_up(l.temp_bytes);
    return l;
}

// Outer slices per chunk: as many as keep a chunk under 2^31 elements (int32 positions).
int64_t chunk_outer(int64_t outer, int64_t n, int64_t inner) {
    const int64_t slice = n * inner;
    NB_CHECK(slice > 0 && slice <= INT_MAX, "cuda sort: a slice of ", n, " x ", inner,
             " elements along and after the sorted dim is more than the 2^31 the kernels index");
    return std::max<int64_t>(1, std::min<int64_t>(outer, INT_MAX / slice));
}

template <class T>
void sort_chunk(const T* x, int64_t outer_c, int64_t n, int64_t inner, int64_t k, bool descending, T* values,
                int64_t* indices, char* w, const Launch& launch) {
    using K = key_t<T>;
    const int64_t rows = outer_c * inner, count = rows * n;
    const SortLayout l = sort_layout<K>(rows, n);
    cub::DoubleBuffer<K> keys(reinterpret_cast<K*>(w + l.keys), reinterpret_cast<K*>(w + l.keys + l.key_bytes));
    cub::DoubleBuffer<int32_t> positions(reinterpret_cast<int32_t*>(w + l.positions),
                                         reinterpret_cast<int32_t*>(w + l.positions + l.pos_bytes));
    int64_t* offsets = l.radix ? nullptr : reinterpret_cast<int64_t*>(w + l.offsets);
    const int64_t* segments = offsets;  // (the type sort_layout asked CUB's size for)
    const int64_t prepare = l.radix ? count : std::max(count, rows + 1);
    sort_prepare_kernel<T><<<blocks_for(prepare), kThreads, 0, launch.stream()>>>(
        x, n, inner, descending, keys.Current(), positions.Current(), count, offsets, rows);
    size_t temp_bytes = l.temp_bytes;
    if (l.radix) {
        check(cub::DeviceRadixSort::SortPairs(w + l.temp, temp_bytes, keys, positions, count, 0,
                                              static_cast<int>(8 * sizeof(K)), launch.stream()),
              "sort (radix)");
        if (rows > 1) {  // stable by row: each row's elements together, still in their sorted order
            cub::DoubleBuffer<uint32_t> row_keys(reinterpret_cast<uint32_t*>(w + l.keys),
                                                 reinterpret_cast<uint32_t*>(w + l.keys + l.key_bytes));
            sort_row_keys_kernel<<<blocks_for(count), kThreads, 0, launch.stream()>>>(positions.Current(), n,
                                                                                      row_keys.Current(), count);
            temp_bytes = l.temp_bytes;
            check(cub::DeviceRadixSort::SortPairs(w + l.temp, temp_bytes, row_keys, positions, count, 0,
                                                  bits_for(static_cast<uint64_t>(rows - 1)), launch.stream()),
                  "sort (radix by row)");
        }
    } else {
        check(cub::DeviceSegmentedSort::StableSortPairs(w + l.temp, temp_bytes, keys, positions, count, rows, segments,
                                                        segments + 1, launch.stream()),
              "sort (segmented)");
    }
    const int64_t out = outer_c * k * inner;
    sort_finish_kernel<T>
        <<<blocks_for(out), kThreads, 0, launch.stream()>>>(x, positions.Current(), n, inner, k, values, indices, out);
}

}  // namespace

int64_t sort_workspace_bytes(DType dtype, int64_t outer, int64_t n, int64_t inner) {
    if (outer == 0 || n == 0 || inner == 0) return 0;
    const int64_t oc = chunk_outer(outer, n, inner), last = outer % oc;
    return dispatch_all(dtype, [&]<class T>() {
        size_t bytes = sort_layout<key_t<T>>(oc * inner, n).total;
        if (last > 0) bytes = std::max(bytes, sort_layout<key_t<T>>(last * inner, n).total);
        return static_cast<int64_t>(bytes);
    });
}

void launch_sort(DType dtype, const void* x, int64_t outer, int64_t n, int64_t inner, int64_t k, bool descending,
                 void* values, int64_t* indices, void* workspace, int64_t workspace_bytes) {
    if (outer == 0 || n == 0 || inner == 0 || k == 0) return;
    NB_CHECK(workspace_bytes >= sort_workspace_bytes(dtype, outer, n, inner), "cuda sort: a workspace of ",
             workspace_bytes, " bytes is too small");
    const int64_t oc = chunk_outer(outer, n, inner);
    Launch launch("sort");
    dispatch_all(dtype, [&]<class T>() {
        for (int64_t o = 0; o < outer; o += oc) {
            const int64_t c = std::min(oc, outer - o);
            sort_chunk<T>(static_cast<const T*>(x) + o * n * inner, c, n, inner, k, descending,
                          static_cast<T*>(values) + o * k * inner, indices + o * k * inner,
                          static_cast<char*>(workspace), launch);
        }
    });
    launch.check();
}

}  // namespace nabla::cuda
