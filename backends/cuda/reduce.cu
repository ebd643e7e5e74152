// backends/cuda/reduce.cu — sum, mean, amax and amin over the rows or columns layout of reduce.h, and max/min with
// indices along one dim.
//   rows     a group of threads per output (1, a warp or the block, by the length of its reduction) walks the
//            output's elements in runs of S at stride C * S: coalesced, since neighbouring lanes read neighbours.
//   columns  a block of (bx, by) threads covers bx neighbouring outputs; the by rows of threads take every by-th
//            reduced row, so a warp still reads contiguous memory, and the rows of threads are combined in shared
//            memory.
// Few outputs with long reductions (a full sum, the [R, C] column sums of a bias gradient) would leave most of the
// GPU idle, so the plan splits each reduction over blockIdx.y into partials (in the caller's workspace) and a
// second, small pass combines them. Partials combine in a fixed order: results do not depend on timing.
// Sums accumulate in double (int64 for integer dtypes), as the reference kernel does; max/min propagate NaN, and with
// indices the first extreme (or the first NaN) wins, as in backends/reference/reduce.cpp.
#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/launch.h"
#include "backends/cuda/reduce.h"
#include "core/dtype.h"
#include "core/error.h"

namespace nabla::cuda {
namespace {

// --- the reductions: an accumulator type, its identity and an associative, commutative combine ---

template <ReduceOp Op, class T>
struct Plain {
    static constexpr bool kSum = Op == ReduceOp::Sum || Op == ReduceOp::Mean;
    using Acc = std::conditional_t<kSum, std::conditional_t<std::is_floating_point_v<T>, double, int64_t>, T>;

    __device__ static Acc identity() {
        if constexpr (kSum)
            return Acc(0);
        else if constexpr (std::is_floating_point_v<T>)
            return Op == ReduceOp::Max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
        else
            return Op == ReduceOp::Max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    }
    __device__ static Acc combine(Acc a, Acc b) {
        if constexpr (kSum)
            return a + b;
        else
            return (Op == ReduceOp::Max ? b > a : b < a) || b != b ? b : a;  // NaN wins and stays (torch.amax)
    }
    __device__ static T finish(Acc a, double count) {
        if constexpr (Op == ReduceOp::Mean)
            return static_cast<T>(static_cast<double>(a) / count);
        else
            return static_cast<T>(a);
    }
};

template <class T>
struct ValueIndex {
    T v;
    int64_t i;
};

// The extreme and where it is. Of equal values the smaller index wins, and a NaN wins over any number (the first
// NaN over later ones): the order-independent form of the reference's "first extreme, or first NaN".
template <bool IsMax, class T>
struct Indexed {
    using Acc = ValueIndex<T>;

    __device__ static Acc identity() {  // loses to every element: a worse value, or an equal one with a larger index
        if constexpr (std::is_floating_point_v<T>)
            return {IsMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity(),
                    std::numeric_limits<int64_t>::max()};
        else
            return {IsMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max(),
                    std::numeric_limits<int64_t>::max()};
    }
    __device__ static Acc combine(Acc a, Acc b) {
        const bool a_nan = a.v != a.v, b_nan = b.v != b.v;
        if (a_nan || b_nan) {
            if (a_nan && b_nan) return b.i < a.i ? b : a;
            return a_nan ? a : b;
        }
        if (IsMax ? b.v > a.v : b.v < a.v) return b;
        return a.v == b.v && b.i < a.i ? b : a;
    }
};

// --- what a pass reads and writes ---

template <class R, class In>  // x as the accumulator type: the input of pass one, or the partials in pass two
struct ValueInput {
    const In* x;
    __device__ typename R::Acc operator()(int64_t offset, int64_t) const {
        return static_cast<typename R::Acc>(x[offset]);
    }
};

template <class R, class T>  // the element and its position j along the reduced dim
struct IndexedInput {
    const T* x;
    __device__ typename R::Acc operator()(int64_t offset, int64_t j) const { return {x[offset], j}; }
};

template <class R, class T>
struct PlainOutput {
    T* y;
    typename R::Acc* partial;  // set: pass one of a split reduction writes its partials here
    double count;              // elements per output, for the mean
    __device__ void operator()(int64_t out, int64_t part, typename R::Acc a) const {
        if (partial)
            partial[part] = a;
        else
            y[out] = R::finish(a, count);
    }
};

template <class R, class T>
struct IndexedOutput {
    T* values;
    int64_t* indices;
    typename R::Acc* partial;
    __device__ void operator()(int64_t out, int64_t part, typename R::Acc a) const {
        if (partial) {
            partial[part] = a;
        } else {
            values[out] = a.v;
            indices[out] = a.i;
        }
    }
};

// --- combining across threads ---

__device__ inline float shfl_down(float v, int d) { return __shfl_down_sync(0xffffffffu, v, d); }
__device__ inline double shfl_down(double v, int d) { return __shfl_down_sync(0xffffffffu, v, d); }
__device__ inline int64_t shfl_down(int64_t v, int d) {
    return static_cast<int64_t>(__shfl_down_sync(0xffffffffu, static_cast<long long>(v), d));
}
__device__ inline uint8_t shfl_down(uint8_t v, int d) {
    return static_cast<uint8_t>(__shfl_down_sync(0xffffffffu, static_cast<int>(v), d));
}
__device__ inline bool shfl_down(bool v, int d) { return __shfl_down_sync(0xffffffffu, static_cast<int>(v), d) != 0; }
template <class T>
__device__ inline ValueIndex<T> shfl_down(ValueIndex<T> v, int d) {
    return {shfl_down(v.v, d), shfl_down(v.i, d)};
}

// Lane 0 gets the combination of the warp's 32 values.
template <class R>
__device__ typename R::Acc warp_reduce(typename R::Acc a) {
    for (int d = 16; d > 0; d /= 2) a = R::combine(a, shfl_down(a, d));
    return a;
}

// The combination of the G threads of a group (G = 1, a warp or the whole block), in the group's thread 0.
template <class R, int G>
__device__ typename R::Acc group_reduce(typename R::Acc a) {
    using Acc = typename R::Acc;
    if constexpr (G == 1) {
        return a;
    } else if constexpr (G == 32) {
        return warp_reduce<R>(a);
    } else {
        static_assert(G == kThreads);
        __shared__ Acc warps[kThreads / 32];
        const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
        a = warp_reduce<R>(a);
        if (lane == 0) warps[warp] = a;
        __syncthreads();
        if (warp == 0) a = warp_reduce<R>(lane < kThreads / 32 ? warps[lane] : R::identity());
        __syncthreads();  // `warps` is reused by the block's next output
        return a;
    }
}

// --- rows: y[c] = op over j < L of x[(j / S) * C S + c S + j % S], split `splits` ways along j ---

struct RowsGeometry {
    int64_t outputs;       // C
    int64_t S, CS, L;      // run length, the stride between runs, elements per output (R S)
    int64_t chunk, split;  // blockIdx.y reduces j in [y chunk, (y + 1) chunk); `split` pieces in all
};

template <class R, int G, class In, class Out>
__global__ void __launch_bounds__(kThreads) reduce_rows_kernel(In in, Out out, RowsGeometry g) {
    using Acc = typename R::Acc;
    constexpr int kGroups = kThreads / G;  // outputs per block at a time
    const int lane = threadIdx.x % G, group = threadIdx.x / G;
    const int64_t piece = blockIdx.y, j_begin = piece * g.chunk, j_end = min(g.L, j_begin + g.chunk);
    // c is uniform over each group, so the group's shuffles and barriers see all its threads
    for (int64_t c0 = int64_t(blockIdx.x) * kGroups; c0 < g.outputs; c0 += int64_t(gridDim.x) * kGroups) {
        const int64_t c = c0 + group;
        Acc a0 = R::identity(), a1 = a0, a2 = a0, a3 = a0;  // four loads in flight per thread
        if (c < g.outputs) {
            const int64_t base = c * g.S;
            int64_t j = j_begin + lane;
            if (g.S == g.L) {  // one run per output
                for (; j + 3 * G < j_end; j += 4 * G) {
                    const Acc v0 = in(base + j, j), v1 = in(base + j + G, j + G), v2 = in(base + j + 2 * G, j + 2 * G),
                              v3 = in(base + j + 3 * G, j + 3 * G);
                    a0 = R::combine(a0, v0), a1 = R::combine(a1, v1), a2 = R::combine(a2, v2), a3 = R::combine(a3, v3);
                }
                for (; j < j_end; j += G) a0 = R::combine(a0, in(base + j, j));
            } else if (j < j_end) {  // runs of S: (r, s) of j, stepped by G without dividing in the loop
                int64_t r = j / g.S, s = j - r * g.S;
                const int64_t dr = G / g.S, ds = G % g.S;
                auto offset_then_step = [&] {
                    const int64_t o = r * g.CS + base + s;
                    s += ds, r += dr;
                    if (s >= g.S) s -= g.S, ++r;
                    return o;
                };
                for (; j + 3 * G < j_end; j += 4 * G) {
                    const int64_t o0 = offset_then_step(), o1 = offset_then_step(), o2 = offset_then_step(),
                                  o3 = offset_then_step();
                    const Acc v0 = in(o0, j), v1 = in(o1, j + G), v2 = in(o2, j + 2 * G), v3 = in(o3, j + 3 * G);
                    a0 = R::combine(a0, v0), a1 = R::combine(a1, v1), a2 = R::combine(a2, v2), a3 = R::combine(a3, v3);
                }
                for (; j < j_end; j += G) a0 = R::combine(a0, in(offset_then_step(), j));
            }
        }
        const Acc a = group_reduce<R, G>(R::combine(R::combine(a0, a1), R::combine(a2, a3)));
        if (lane == 0 && c < g.outputs) out(c, c * g.split + piece, a);
    }
}

// --- columns: y[o I + i] = op over r < R of x[(o R + r) I + i], split `splits` ways along r ---

struct ColsGeometry {
    int64_t O, R, I;
    int64_t col_blocks;    // blocks of bx columns per o
    int64_t chunk, split;  // blockIdx.y reduces r in [y chunk, (y + 1) chunk); `split` pieces in all
};

template <class R, class In, class Out>
__global__ void __launch_bounds__(kThreads) reduce_cols_kernel(In in, Out out, ColsGeometry g) {
    using Acc = typename R::Acc;
    __shared__ Acc rows[kThreads];  // [by][bx]
    const int bx = blockDim.x, by = blockDim.y, tx = threadIdx.x, ty = threadIdx.y;
    const int64_t piece = blockIdx.y, r_begin = piece * g.chunk, r_end = min(g.R, r_begin + g.chunk);
    for (int64_t b = blockIdx.x; b < g.O * g.col_blocks; b += gridDim.x) {  // uniform over the block
        const int64_t o = b / g.col_blocks, i = (b % g.col_blocks) * bx + tx;
        Acc a0 = R::identity(), a1 = a0, a2 = a0, a3 = a0;
        if (i < g.I) {
            const int64_t base = o * g.R * g.I + i;
            int64_t r = r_begin + ty;
            for (; r + 3 * by < r_end; r += 4 * by) {
                const Acc v0 = in(base + r * g.I, r), v1 = in(base + (r + by) * g.I, r + by),
                          v2 = in(base + (r + 2 * by) * g.I, r + 2 * by),
                          v3 = in(base + (r + 3 * by) * g.I, r + 3 * by);
                a0 = R::combine(a0, v0), a1 = R::combine(a1, v1), a2 = R::combine(a2, v2), a3 = R::combine(a3, v3);
            }
            for (; r < r_end; r += by) a0 = R::combine(a0, in(base + r * g.I, r));
        }
        rows[ty * bx + tx] = R::combine(R::combine(a0, a1), R::combine(a2, a3));
        __syncthreads();
        for (int step = 1; step < by; step *= 2) {  // a tree over the rows of threads (by need not be a power of 2)
            if (ty % (2 * step) == 0 && ty + step < by)
                rows[ty * bx + tx] = R::combine(rows[ty * bx + tx], rows[(ty + step) * bx + tx]);
            __syncthreads();
        }
        if (ty == 0 && i < g.I) out(o * g.I + i, (o * g.split + piece) * g.I + i, rows[tx]);
        __syncthreads();  // `rows` is reused by the next block of columns
    }
}

// --- plans: group size, block shape and splits, from the geometry and the GPU's size ---

constexpr int64_t kSplitElements = 1 << 14;  // rows: the least a piece of a split reduction reduces
constexpr int64_t kSplitRowsPerThread = 16;  // columns: the least rows a thread takes in a piece
constexpr int64_t kMaxSplits = 2048;         // pass two then needs at most a warp per output
constexpr int kBlocksPerSM = 8;              // 8 blocks of 256 threads fill an SM: the wave a split aims at

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
unsigned grid_for(int64_t blocks) { return static_cast<unsigned>(std::clamp<int64_t>(blocks, 1, 65535)); }

// Multiprocessors of the current device, asked once per device.
int64_t sm_count() {
    static std::atomic<int> cache[64];
    int device = 0;
    check(cudaGetDevice(&device), "cudaGetDevice");
    if (device < 64 && cache[device].load(std::memory_order_relaxed) > 0) return cache[device].load();
    int n = 0;
    check(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, device), "cudaDeviceGetAttribute");
    if (device < 64) cache[device].store(n);
    return std::max(n, 1);
}

struct RowsPlan {
    RowsGeometry g;
    int group;  // threads per output
    unsigned grid;
};

RowsPlan plan_rows(int64_t R, int64_t C, int64_t S, bool may_split) {
    const int64_t L = R * S;
    RowsPlan p;
    p.group = L <= 16 ? 1 : (L <= 2048 ? 32 : kThreads);
    int64_t split = 1;
    if (may_split && p.group == kThreads) {
        const int64_t target = kBlocksPerSM * sm_count();
        if (C < target) split = std::clamp<int64_t>(std::min(ceil_div(target, C), L / kSplitElements), 1, kMaxSplits);
    }
    const int64_t chunk = ceil_div(L, split);
    p.g = {C, S, C * S, L, chunk, ceil_div(L, chunk)};  // every piece non-empty
    p.grid = grid_for(ceil_div(C, kThreads / p.group));
    return p;
}

struct ColsPlan {
    ColsGeometry g;
    dim3 block;
    unsigned grid;
};

// bx neighbouring columns by by rows of threads: a warp spans whole rows of 32 columns, or several short rows of
// I < 32; few reduced rows give the threads to more columns instead.
dim3 column_block(int64_t I, int64_t R) {
    if (I >= 32) {
        const int64_t by = std::min<int64_t>(R, 8);
        return dim3(static_cast<unsigned>(std::min<int64_t>(ceil_div(I, 32) * 32, kThreads / by / 32 * 32)),
                    static_cast<unsigned>(by));
    }
    return dim3(static_cast<unsigned>(I), static_cast<unsigned>(std::min<int64_t>(kThreads / I, R)));
}

ColsPlan plan_cols(int64_t O, int64_t R, int64_t I, bool may_split) {
    ColsPlan p;
    p.block = column_block(I, R);
    const int64_t col_blocks = ceil_div(I, p.block.x), blocks = O * col_blocks;
    int64_t split = 1;
    if (may_split) {
        const int64_t target = kBlocksPerSM * sm_count();
        if (blocks < target)
            split = std::clamp<int64_t>(std::min(ceil_div(target, blocks), R / (p.block.y * kSplitRowsPerThread)), 1,
                                        kMaxSplits);
    }
    const int64_t chunk = ceil_div(R, split);
    p.g = {O, R, I, col_blocks, chunk, ceil_div(R, chunk)};
    p.grid = grid_for(blocks);
    return p;
}

template <class R, bool kBlockGroups, class In, class Out>
void run_rows(const char* name, const RowsPlan& p, const In& in, const Out& out) {
    Launch launch(name);
    const dim3 grid(p.grid, static_cast<unsigned>(p.g.split));
    if (p.group == 1) {
        reduce_rows_kernel<R, 1><<<grid, kThreads, 0, launch.stream()>>>(in, out, p.g);
    } else if (p.group == 32) {
        reduce_rows_kernel<R, 32><<<grid, kThreads, 0, launch.stream()>>>(in, out, p.g);
    } else {
        if constexpr (kBlockGroups)
            reduce_rows_kernel<R, kThreads><<<grid, kThreads, 0, launch.stream()>>>(in, out, p.g);
    }
    launch.check();
}

template <class R, class In, class Out>
void run_cols(const char* name, const ColsPlan& p, const In& in, const Out& out) {
    Launch launch(name);
    reduce_cols_kernel<R>
        <<<dim3(p.grid, static_cast<unsigned>(p.g.split)), p.block, 0, launch.stream()>>>(in, out, p.g);
    launch.check();
}

// Elements of partials the layout's plan needs (0: one pass).
int64_t partials_for(const ReduceLayout& l) {
    if (!l.columns) {
        const RowsPlan p = plan_rows(l.d0, l.d1, l.d2, true);
        return p.g.split > 1 ? l.d1 * p.g.split : 0;
    }
    const ColsPlan p = plan_cols(l.d0, l.d1, l.d2, true);
    return p.g.split > 1 ? l.d0 * p.g.split * l.d2 : 0;
}

// Pass one reads x through `first`; when the plan splits, it writes partials and pass two combines them.
// make_out(partial) is the output of a pass: the partials when given them, else the result.
template <class R, class First, class MakeOut>
void run(const char* name, const ReduceLayout& l, const First& first, const MakeOut& make_out, void* workspace) {
    using Acc = typename R::Acc;
    Acc* partial = static_cast<Acc*>(workspace);
    const ValueInput<R, Acc> second{partial};
    if (!l.columns) {
        const RowsPlan p = plan_rows(l.d0, l.d1, l.d2, true);
        if (p.g.split == 1) return run_rows<R, true>(name, p, first, make_out(nullptr));
        run_rows<R, true>(name, p, first, make_out(partial));
        run_rows<R, false>(name, plan_rows(1, l.d1, p.g.split, false), second, make_out(nullptr));  // [C, split]
    } else {
        const ColsPlan p = plan_cols(l.d0, l.d1, l.d2, true);
        if (p.g.split == 1) return run_cols<R>(name, p, first, make_out(nullptr));
        run_cols<R>(name, p, first, make_out(partial));
        run_cols<R>(name, plan_cols(l.d0, p.g.split, l.d2, false), second, make_out(nullptr));  // [O, split, I]
    }
}

template <class F>
void visit_reduce(ReduceOp op, F&& f) {
    switch (op) {
        case ReduceOp::Sum: return f.template operator()<ReduceOp::Sum>();
        case ReduceOp::Mean: return f.template operator()<ReduceOp::Mean>();
        case ReduceOp::Max: return f.template operator()<ReduceOp::Max>();
        case ReduceOp::Min: return f.template operator()<ReduceOp::Min>();
    }
}

}  // namespace

size_t reduce_workspace_bytes(ReduceOp op, DType dtype, const ReduceLayout& layout) {
    const int64_t n = partials_for(layout);
    if (n == 0) return 0;
    size_t acc = 0;
    dispatch_all(
        dtype, [&]<class T>() { visit_reduce(op, [&]<ReduceOp Op>() { acc = sizeof(typename Plain<Op, T>::Acc); }); });
    return static_cast<size_t>(n) * acc;
}

void launch_reduce(ReduceOp op, DType dtype, const void* x, void* y, const ReduceLayout& layout, void* workspace) {
    const double count = static_cast<double>(layout.columns ? layout.d1 : layout.d0 * layout.d2);
    dispatch_all(dtype, [&]<class T>() {
        visit_reduce(op, [&]<ReduceOp Op>() {
            if constexpr (Op == ReduceOp::Mean && !std::is_floating_point_v<T>) {
                throw TypeError(detail::concat("mean: expected a floating dtype, got ", dtype_name(dtype)));
            } else {
                using R = Plain<Op, T>;
                auto make_out = [&](typename R::Acc* partial) {
                    return PlainOutput<R, T>{static_cast<T*>(y), partial, count};
                };
                run<R>("reduce", layout, ValueInput<R, T>{static_cast<const T*>(x)}, make_out, workspace);
            }
        });
    });
}

size_t reduce_with_indices_workspace_bytes(ReduceOp, DType dtype, const ReduceLayout& layout) {
    const int64_t n = partials_for(layout);
    size_t acc = 0;
    dispatch_all(dtype, [&]<class T>() { acc = sizeof(ValueIndex<T>); });
    return static_cast<size_t>(n) * acc;
}

void launch_reduce_with_indices(ReduceOp op, DType dtype, const void* x, void* values, int64_t* indices,
                                const ReduceLayout& layout, void* workspace) {
    dispatch_all(dtype, [&]<class T>() {
        auto go = [&]<bool IsMax>() {
            using R = Indexed<IsMax, T>;
            auto make_out = [&](typename R::Acc* partial) {
                return IndexedOutput<R, T>{static_cast<T*>(values), indices, partial};
            };
            run<R>(IsMax ? "max" : "min", layout, IndexedInput<R, T>{static_cast<const T*>(x)}, make_out, workspace);
        };
        if (op == ReduceOp::Max)
            go.template operator()<true>();
        else
            go.template operator()<false>();
    });
}

}  // namespace nabla::cuda
