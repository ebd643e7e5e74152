// backends/cpu/dnnl_common.h — what every oneDNN kernel of the cpu backend shares: one engine and stream, tensors
// wrapped as oneDNN memory without copies, and a cache of primitives keyed by shapes and attributes.
//
// The pattern of a kernel (as oneDNN's examples/primitives/*.cpp): describe the user's plain nchw/oihw tensors,
// let the primitive choose its layouts with format_tag::any, reorder only when the pd asks for another layout,
// and build each primitive once per shape (PrimitiveCache).
#pragma once
#include <list>
#include <memory>
#include <mutex>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace nabla::dnnl_util {

dnnl::engine& engine();
dnnl::stream& stream();

dnnl::memory::dims dims_of(const Shape& shape);
// A descriptor with the tensor's own strides (f32), so strided tensors need no copy.
dnnl::memory::desc desc_of(const Tensor& t);
// A plain (row-major, dense) descriptor of the given shape.
dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type dt = dnnl::memory::data_type::f32);
// Wraps t's data (no copy).
dnnl::memory memory_of(const Tensor& t);
dnnl::memory memory_of(const Tensor& t, const dnnl::memory::desc& d);

// The buffers of one op's blocked layouts (a reordered input, an output before it goes back to nchw), taken from
// Nabla's allocator rather than oneDNN's malloc, so that a training loop reuses the same blocks every step instead of
// page-faulting fresh mmaps; they are freed when the scope ends. Open one at the top of every kernel that calls
// temp_memory or reorder_if_needed, before any memory is made, and keep it open until the stream has finished.
class TempScope {
public:
    TempScope();
    ~TempScope();
    TempScope(const TempScope&) = delete;
    TempScope& operator=(const TempScope&) = delete;

private:
    friend dnnl::memory temp_memory(const dnnl::memory::desc& desc);
    std::vector<std::shared_ptr<Storage>> buffers_;
    TempScope* outer_;
};
// A buffer for `desc` that lives until the innermost TempScope of this thread ends (oneDNN's own allocation when
// no scope is open).
dnnl::memory temp_memory(const dnnl::memory::desc& desc);

// `user` reordered into `want` if the layouts differ (a temp_memory, executed on the stream), else `user` itself.
dnnl::memory reorder_if_needed(const dnnl::memory& user, const dnnl::memory::desc& want);
// Copies `from` into `to` when they are different memories (layout change back to the user's tensor).
void reorder_into(const dnnl::memory& from, const dnnl::memory& to);

// The capacity of each PrimitiveCache: ONEDNN_PRIMITIVE_CACHE_CAPACITY when set (oneDNN's own variable for its
// primitive cache, which sits below ours), else 1024, its default.
size_t primitive_cache_capacity();

// A thread-safe map from a key string (built from shapes and attributes) to a cached primitive bundle, holding at most
// `capacity` entries: a miss beyond that evicts the least recently used one, so a program that meets many shapes
// (variable image sizes, rectangular validation batches) does not grow without bound. A caller keeps its entry
// alive through the shared_ptr while it runs, even if the entry is evicted meanwhile.
template <class Value>
class PrimitiveCache {
public:
    explicit PrimitiveCache(size_t capacity = primitive_cache_capacity()) : capacity_(capacity < 1 ? 1 : capacity) {}

    template <class Make>
    std::shared_ptr<Value> get(const std::string& key, Make&& make) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (auto it = index_.find(key); it != index_.end()) {
            order_.splice(order_.begin(), order_, it->second);  // now the most recently used
            return it->second->second;
        }
        auto v = std::make_shared<Value>(make());
        order_.emplace_front(key, v);
        index_.emplace(key, order_.begin());
        if (order_.size() > capacity_) {
            index_.erase(order_.back().first);
            order_.pop_back();
        }
        return v;
    }

    size_t size() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return order_.size();
    }

private:
    using Entry = std::pair<std::string, std::shared_ptr<Value>>;
    const size_t capacity_;
    mutable std::mutex mutex_;
    std::list<Entry> order_;  // most recently used first
    std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

}  // namespace nabla::dnnl_util
