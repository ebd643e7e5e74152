// backends/cpu/dnnl_common.cpp — see dnnl_common.h.
#include "backends/cpu/dnnl_common.h"

#include <fmt/format.h>

#include <cstdlib>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "core/storage.h"

namespace nabla::dnnl_util {

dnnl::engine& engine() {
    static dnnl::engine e(dnnl::engine::kind::cpu, 0);
    return e;
}

dnnl::stream& stream() {
    static thread_local dnnl::stream s(engine());
    return s;
}

size_t primitive_cache_capacity() {
    static const size_t capacity = [] {
        const char* v = std::getenv("ONEDNN_PRIMITIVE_CACHE_CAPACITY");
        char* end = nullptr;
        const long n = v ? std::strtol(v, &end, 10) : 0;
        return v && end != v && n > 0 ? static_cast<size_t>(n) : size_t{1024};
    }();
    return capacity;
}

dnnl::memory::dims dims_of(const Shape& shape) { return dnnl::memory::dims(shape.begin(), shape.end()); }

dnnl::memory::desc desc_of(const Tensor& t) {
    NB_CHECK(t.dtype() == kFloat32, "oneDNN kernels take float32, got ", dtype_name(t.dtype()));
    return dnnl::memory::desc(dims_of(t.shape()), dnnl::memory::data_type::f32, dims_of(t.strides()));
}

dnnl::memory::desc plain_desc(const Shape& shape, dnnl::memory::data_type dt) {
    return dnnl::memory::desc(dims_of(shape), dt, dims_of(contiguous_strides(shape)));
}

dnnl::memory memory_of(const Tensor& t) { return dnnl::memory(desc_of(t), engine(), t.raw_data()); }
dnnl::memory memory_of(const Tensor& t, const dnnl::memory::desc& d) { return dnnl::memory(d, engine(), t.raw_data()); }

namespace {
// Reorder primitives, built once per (source layout, destination layout): convolutions reorder their inputs into
// oneDNN's blocked layouts and their outputs back on every call, and building a reorder costs more than small ones
// take to run. The key is the bytes of both descriptors (plain C structs, fully initialised by oneDNN).
dnnl::reorder& cached_reorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
    static PrimitiveCache<dnnl::reorder> cache;
    std::string key(reinterpret_cast<const char*>(&from.data), sizeof(from.data));
    key.append(reinterpret_cast<const char*>(&to.data), sizeof(to.data));
    return *cache.get(key, [&] { return dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to)); });
}
}  // namespace

namespace {
thread_local TempScope* t_scope = nullptr;
}

TempScope::TempScope() : outer_(t_scope) { t_scope = this; }
TempScope::~TempScope() { t_scope = outer_; }

dnnl::memory temp_memory(const dnnl::memory::desc& desc) {
    if (!t_scope) return dnnl::memory(desc, engine());
    auto storage = std::make_shared<Storage>(desc.get_size(), kCPU);
    t_scope->buffers_.push_back(storage);
    return dnnl::memory(desc, engine(), storage->data());
}

dnnl::memory reorder_if_needed(const dnnl::memory& user, const dnnl::memory::desc& want) {
    if (user.get_desc() == want) return user;
    dnnl::memory m = temp_memory(want);
    cached_reorder(user.get_desc(), want).execute(stream(), const_cast<dnnl::memory&>(user), m);
    return m;
}

void reorder_into(const dnnl::memory& from, const dnnl::memory& to) {
    if (from.get() == to.get()) return;
    cached_reorder(from.get_desc(), to.get_desc())
        .execute(stream(), const_cast<dnnl::memory&>(from), const_cast<dnnl::memory&>(to));
}

}  // namespace nabla::dnnl_util

namespace nabla {
std::string CpuBackend::description() const {
    const dnnl_version_t* v = dnnl_version();
    return fmt::format("cpu: oneDNN {}.{}.{}, {} threads", v->major, v->minor, v->patch, num_threads());
}
}  // namespace nabla
