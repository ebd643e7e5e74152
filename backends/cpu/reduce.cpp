// backends/cpu/reduce.cpp — sum, mean, max and min over any dims of a float32 tensor (torch.sum, mean, amax, amin)
// as parallel loops the compiler vectorises.
//   x: [*] -> y: x's shape without the reduced dims (kept as 1 with keepdim), contiguous.
// Once size-1 dims are dropped and neighbours that are both reduced (or both kept) merged, a contiguous tensor falls
// into one of two layouts, which between them hold the common cases:
//   [R, C, S], keep C:        all dims (C = 1), trailing dims (R = 1), dims (0, 2, 3) of NCHW (BatchNorm, bias grads)
//   [O, R, I], keep O and I:  leading dims (O = 1), a middle dim such as the channels of [N, C, H, W]
// The work is cut into tasks of a fixed size (never by the thread count); each task reduces to a partial (sums in
// double), and partials combine in a fixed order, so results do not depend on the number of threads. max/min
// propagate NaN as the reference does. Other layouts and dtypes go to the reference kernel; a strided input is
// copied first (one pass, cheaper than the reference's odometer walk).
#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace nabla {

namespace {

constexpr int64_t kTask = 1 << 14;  // elements a task reduces
constexpr int64_t kColumns = 512;   // columns (I) a task of the [O, R, I] layout keeps in its accumulator
constexpr int64_t kMaxSplits = 64;  // at most this many partials per output when the outputs are few

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

struct Layout {
    bool middle = false;  // false: [R, C, S] reduce R and S;  true: [O, R, I] reduce R
    int64_t d0 = 1, d1 = 1, d2 = 1;
};

std::optional<Layout> classify(const Shape& shape, const Shape& dims) {
    std::vector<std::pair<int64_t, bool>> groups;  // (size, reduced)
    for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
        if (shape[d] == 1) continue;
        const bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
        if (!groups.empty() && groups.back().second == reduced)
            groups.back().first *= shape[d];
        else
            groups.emplace_back(shape[d], reduced);
    }
    std::string pattern;  // "RKR", "KRK", ...
    for (const auto& [size, reduced] : groups) pattern += reduced ? 'R' : 'K';
    auto g = [&](size_t i) { return groups[i].first; };
    if (pattern.empty()) return Layout{false, 1, 1, 1};
    if (pattern == "R") return Layout{false, 1, 1, g(0)};
    if (pattern == "K") return Layout{false, 1, g(0), 1};
    if (pattern == "KR") return Layout{false, 1, g(0), g(1)};
    if (pattern == "RKR") return Layout{false, g(0), g(1), g(2)};
    if (pattern == "RK") return Layout{true, 1, g(0), g(1)};
    if (pattern == "KRK") return Layout{true, g(0), g(1), g(2)};
    return std::nullopt;
}

// Folds v into the running max (or min); NaN wins and stays, as in torch.amax.
template <bool IsMax>
inline float fold_extreme(float acc, float v) {
    return (IsMax ? v > acc : v < acc) || v != v ? v : acc;
}
template <bool IsMax>
inline double fold_extreme(double acc, double v) {
    return (IsMax ? v > acc : v < acc) || v != v ? v : acc;
}

// One contiguous run: its sum in double, or its extreme.
double run_sum(const float* p, int64_t n) {
    double acc = 0;
#pragma omp simd reduction(+ : acc)
    for (int64_t i = 0; i < n; ++i) acc += p[i];
    return acc;
}
template <bool IsMax>
double run_extreme(const float* p, int64_t n) {
    float m = p[0];
    int nan = 0;
    if constexpr (IsMax) {
#pragma omp simd reduction(max : m) reduction(| : nan)
        for (int64_t i = 0; i < n; ++i) m = p[i] > m ? p[i] : m, nan |= p[i] != p[i];
    } else {
#pragma omp simd reduction(min : m) reduction(| : nan)
        for (int64_t i = 0; i < n; ++i) m = p[i] < m ? p[i] : m, nan |= p[i] != p[i];
    }
    return nan ? NAN : m;
}

// [R, C, S]: y[c] = reduce over r, s of x[(r C + c) S + s]. Tasks are (c, block of rows, block of the run).
template <ReduceOp Op>
void reduce_outer_inner(const float* x, float* y, int64_t R, int64_t C, int64_t S) {
    constexpr bool kSum = Op == ReduceOp::Sum || Op == ReduceOp::Mean;
    const int64_t sb = std::min(S, kTask), nsb = ceil_div(S, sb);
    const int64_t rb = std::max<int64_t>(1, std::min(R, kTask / sb)), nrb = ceil_div(R, rb);
    const int64_t per_c = nrb * nsb;
    std::vector<double> partial(static_cast<size_t>(C * per_c));
    parallel_for(0, C * per_c, std::max<int64_t>(1, (1 << 15) / (rb * sb)), [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t c = t / per_c, r0 = (t % per_c) / nsb * rb, s0 = (t % nsb) * sb;
            const int64_t r1 = std::min(R, r0 + rb), len = std::min(S - s0, sb);
            double acc = kSum ? 0.0 : run_extreme<Op == ReduceOp::Max>(x + (r0 * C + c) * S + s0, len);
            for (int64_t r = r0; r < r1; ++r) {
                const float* run = x + (r * C + c) * S + s0;
                if constexpr (kSum)
                    acc += run_sum(run, len);
                else
                    acc = fold_extreme<Op == ReduceOp::Max>(acc, run_extreme<Op == ReduceOp::Max>(run, len));
            }
            partial[static_cast<size_t>(t)] = acc;
        }
    });
    const double count = static_cast<double>(R * S);
    for (int64_t c = 0; c < C; ++c) {
        const double* p = partial.data() + c * per_c;
        double acc = p[0];
        for (int64_t k = 1; k < per_c; ++k) acc = kSum ? acc + p[k] : fold_extreme<Op == ReduceOp::Max>(acc, p[k]);
        y[c] = static_cast<float>(Op == ReduceOp::Mean ? acc / count : acc);
    }
}

// [O, R, I]: y[o I + i] = reduce over r of x[(o R + r) I + i]. Tasks are (o, block of columns, block of rows), each
// with a vector accumulator over its columns; rows are split only when the outputs alone give too few tasks.
template <ReduceOp Op>
void reduce_middle(const float* x, float* y, int64_t O, int64_t R, int64_t I) {
    constexpr bool kSum = Op == ReduceOp::Sum || Op == ReduceOp::Mean;
    const int64_t ib = std::min(I, kColumns), nib = ceil_div(I, ib);
    const int64_t splits = O * nib >= 16 ? 1 : std::clamp<int64_t>(ceil_div(R * ib, kTask), 1, std::min(R, kMaxSplits));
    const int64_t rb = ceil_div(R, splits), nrb = ceil_div(R, rb);  // every row block non-empty
    const int64_t tasks = O * nib * nrb;
    std::vector<double> partial(static_cast<size_t>(tasks * ib));
    parallel_for(0, tasks, std::max<int64_t>(1, (1 << 15) / (rb * ib)), [&](int64_t t0, int64_t t1) {
        for (int64_t t = t0; t < t1; ++t) {
            const int64_t o = t / (nib * nrb), i0 = (t / nrb) % nib * ib, r0 = (t % nrb) * rb;
            const int64_t r1 = std::min(R, r0 + rb), len = std::min(I - i0, ib);
            double* acc = partial.data() + t * ib;
            const float* first = x + (o * R + r0) * I + i0;
#pragma omp simd
            for (int64_t i = 0; i < len; ++i) acc[i] = kSum ? 0.0 : first[i];
            for (int64_t r = r0; r < r1; ++r) {
                const float* row = x + (o * R + r) * I + i0;
                if constexpr (kSum) {
#pragma omp simd
                    for (int64_t i = 0; i < len; ++i) acc[i] += row[i];
                } else {
#pragma omp simd
                    for (int64_t i = 0; i < len; ++i)
                        acc[i] = fold_extreme<Op == ReduceOp::Max>(acc[i], double(row[i]));
                }
            }
        }
    });
    const double count = static_cast<double>(R);
    parallel_for(0, O * nib, std::max<int64_t>(1, (1 << 15) / ib), [&](int64_t u0, int64_t u1) {
        for (int64_t u = u0; u < u1; ++u) {
            const int64_t o = u / nib, i0 = (u % nib) * ib, len = std::min(I - i0, ib);
            const double* p = partial.data() + u * nrb * ib;  // the nrb partials of (o, column block), in row order
            for (int64_t i = 0; i < len; ++i) {
                double acc = p[i];
                for (int64_t k = 1; k < nrb; ++k)
                    acc = kSum ? acc + p[k * ib + i] : fold_extreme<Op == ReduceOp::Max>(acc, p[k * ib + i]);
                y[o * I + i0 + i] = static_cast<float>(Op == ReduceOp::Mean ? acc / count : acc);
            }
        }
    });
}

}  // namespace

Tensor CpuBackend::reduce(ReduceOp op, const Tensor& x_in, const Shape& dims, bool keepdim) {
    const std::optional<Layout> layout = classify(x_in.shape(), dims);
    if (x_in.dtype() != kFloat32 || x_in.numel() == 0 || !layout)
        return ReferenceBackend::reduce(op, x_in, dims, keepdim);
    const Tensor x = kernel::contiguous(x_in.detach());
    Shape y_shape;
    for (int64_t d = 0; d < x.dim(); ++d) {
        const bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
        if (!reduced)
            y_shape.push_back(x.size(d));
        else if (keepdim)
            y_shape.push_back(1);
    }
    Tensor y = make_tensor(y_shape, kFloat32, x.device());
    const float* px = x.data_ptr<float>();
    float* py = y.data_ptr<float>();
    const Layout& l = *layout;
    auto run = [&]<ReduceOp Op>() {
        if (l.middle)
            reduce_middle<Op>(px, py, l.d0, l.d1, l.d2);
        else
            reduce_outer_inner<Op>(px, py, l.d0, l.d1, l.d2);
    };
    switch (op) {
        case ReduceOp::Sum: run.template operator()<ReduceOp::Sum>(); break;
        case ReduceOp::Mean: run.template operator()<ReduceOp::Mean>(); break;
        case ReduceOp::Max: run.template operator()<ReduceOp::Max>(); break;
        case ReduceOp::Min: run.template operator()<ReduceOp::Min>(); break;
    }
    return y;
}

}  // namespace nabla
