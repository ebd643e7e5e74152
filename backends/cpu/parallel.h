// backends/cpu/parallel.h — parallel_for over [begin, end) in chunks of at least `grain` items with OpenMP;
// small ranges run inline on the calling thread (a parallel region costs microseconds).
#pragma once
#include <algorithm>
#include <cstdint>

#ifdef _OPENMP
#include <omp.h>
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
