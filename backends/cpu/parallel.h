// backends/cpu/parallel.h — parallel_for over [begin, end) in chunks of at least `grain` items with OpenMP;
// small ranges run inline on the calling thread (a parallel region costs microseconds). NB_CPU_CLONES marks a loop
// function to compile for several instruction sets.
#pragma once
#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
#endif

// A loop that computes more than it moves (an exp per element) is compiled three times, for AVX-512 (x86-64-v4),
// AVX2 with FMA (v3) and baseline x86-64, and the dynamic loader picks the best the CPU runs (GCC's target_clones,
// an ifunc). The project otherwise builds for baseline x86-64, so one binary runs on every machine; the v4 clone of
// batch norm + silu runs 30x faster than the baseline one on an AVX-512 EPYC. Lambdas do not inherit it: mark the
// function that holds the loop. Not under ThreadSanitizer: it instruments the ifunc's resolver, which the dynamic
// loader runs before TSan's runtime has started (a crash at load time).
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_THREAD__)
#define NB_CPU_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define NB_CPU_CLONES
#endif

namespace nabla {

template <class F>
void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& f) {
    const int64_t n = end - begin;
    if (n <= 0) return;
#ifdef _OPENMP
    if (n > grain && omp_get_max_threads() > 1 && !omp_in_parallel()) {
#pragma omp parallel
        {
            const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
            const int64_t chunk = (n + nt - 1) / nt;
            const int64_t b = begin + t * chunk, e = std::min(end, b + chunk);
            if (b < e) f(b, e);
        }
        return;
    }
#endif
    f(begin, end);
}

inline int num_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

}  // namespace nabla
