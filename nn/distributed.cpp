// nn/distributed.cpp — nn/distributed.h on MPI (Debian's OpenMPI): joining the job, the collectives, abort.
#include "nn/distributed.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <utility>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "core/trace/trace.h"

namespace nabla::dist {

namespace {

bool g_initialized = false;
int g_rank = 0, g_size = 1, g_local_rank = 0, g_local_size = 1;

// OpenMPI's launcher (mpirun, or a PMIx server) sets these in every process it starts.
bool launched_by_mpi() { return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr; }

int env_int(const char* name, int fallback) {
    const char* v = std::getenv(name);
    return v ? std::atoi(v) : fallback;
}

void finalize_at_exit() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
}

MPI_Datatype mpi_type(const Tensor& t, const char* op) {
    NB_CHECK_VALUE(t.defined(), "dist::", op, ": undefined tensor");
    NB_CHECK_VALUE(t.device().is_cpu(), "dist::", op, ": tensor ", t.shape(),
                   " is not on the CPU (MPI moves host memory; copy it with .to(cpu) first)");
    NB_CHECK_VALUE(t.is_contiguous(), "dist::", op, ": tensor ", t.shape(), " is not contiguous");
    switch (t.dtype()) {
        case kFloat32: return MPI_FLOAT;
        case kFloat64: return MPI_DOUBLE;
        case kInt64: return MPI_INT64_T;
        default:
            throw TypeError(detail::concat("dist::", op, ": ", dtype_name(t.dtype()), " tensor ", t.shape(),
                                           " (float32, float64 or int64 only)"));
    }
}

MPI_Op mpi_op(ReduceOp op) {
    switch (op) {
        case ReduceOp::max: return MPI_MAX;
        case ReduceOp::min: return MPI_MIN;
        default: return MPI_SUM;  // avg = sum, then divided
    }
}

void check(int code, const char* what) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    throw Error(detail::concat("dist::", what, ": MPI error: ", std::string(text, static_cast<size_t>(length))));
}

// Every collective that moves a tensor is a "comm" scope of the tracer whose count (the FLOP column of other scopes)
// is its bytes.
int64_t bytes_of(const Tensor& t) { return t.numel() * static_cast<int64_t>(element_size(t.dtype())); }

}  // namespace

void init() {
    if (g_initialized || !launched_by_mpi()) return;
    int provided = 0;
    check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "init");
    std::atexit(finalize_at_exit);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", 0);
    g_local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1);
    g_initialized = true;
}

bool is_initialized() { return g_initialized; }
int rank() { return g_rank; }
int world_size() { return g_size; }
int local_rank() { return g_local_rank; }
int local_size() { return g_local_size; }

void abort(const std::string& message, int code) {
    std::fprintf(stderr, "%s%s\n", g_size > 1 ? detail::concat("rank ", g_rank, ": ").c_str() : "", message.c_str());
    std::fflush(stderr);
    if (g_initialized) MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

void all_reduce_(Tensor& t, ReduceOp op) {
    const MPI_Datatype type = mpi_type(t, "all_reduce_");
    if (g_size == 1) return;
    trace::Scope scope(trace::comm, "all_reduce", [&] { return bytes_of(t); });
    check(MPI_Allreduce(MPI_IN_PLACE, t.raw_data(), static_cast<int>(t.numel()), type, mpi_op(op), MPI_COMM_WORLD),
          "all_reduce_");
    if (op == ReduceOp::avg) {
        NoGradGuard no_grad;
        t.div_(static_cast<double>(g_size));
    }
}

void broadcast_(Tensor& t, int root) {
    const MPI_Datatype type = mpi_type(t, "broadcast_");
    NB_CHECK_VALUE(root >= 0 && root < g_size, "dist::broadcast_: root ", root, " is not a rank of a world of ",
                   g_size);
    if (g_size == 1) return;
    trace::Scope scope(trace::comm, "broadcast", [&] { return bytes_of(t); });
    check(MPI_Bcast(t.raw_data(), static_cast<int>(t.numel()), type, root, MPI_COMM_WORLD), "broadcast_");
}

void barrier() {
    if (g_size == 1) return;
    trace::Scope scope(trace::comm, "barrier");
    check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
}

Tensor all_reduce(const Tensor& t) {
    Tensor out = t.detach().clone();  // a contiguous copy to reduce in place
    all_reduce_(out);
    autograd::record("all_reduce", {t}, out, [](const Tensor& grad, const autograd::NeedsGrad&) -> autograd::Grads {
        Tensor g = grad.clone();
        all_reduce_(g);
        return {g};
    });
    return out;
}

std::vector<double> all_reduce(std::vector<double> values, ReduceOp op) {
    if (g_size == 1 || values.empty()) return values;
    trace::Scope scope(trace::comm, "all_reduce", [&] { return static_cast<int64_t>(values.size() * sizeof(double)); });
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_DOUBLE, mpi_op(op),
                        MPI_COMM_WORLD),
          "all_reduce");
    if (op == ReduceOp::avg)
        for (double& v : values) v /= g_size;
    return values;
}

double all_reduce(double value, ReduceOp op) { return all_reduce(std::vector<double>{value}, op)[0]; }

double broadcast(double value, int root) {
    NB_CHECK_VALUE(root >= 0 && root < g_size, "dist::broadcast: root ", root, " is not a rank of a world of ", g_size);
    if (g_size == 1) return value;
    trace::Scope scope(trace::comm, "broadcast", [] { return int64_t{sizeof(double)}; });
    check(MPI_Bcast(&value, 1, MPI_DOUBLE, root, MPI_COMM_WORLD), "broadcast");
    return value;
}

// --- Work ---

struct Work::Request {
    MPI_Request handle = MPI_REQUEST_NULL;
};

Work::Work() = default;
Work::Work(Work&& other) noexcept = default;

Work& Work::operator=(Work&& other) noexcept {
    if (this != &other) {
        try {
            wait();
        } catch (...) {  // a failed MPI job: MPI's own error handler has reported it
        }
        request_ = std::move(other.request_);
        buffer_ = std::move(other.buffer_);
    }
    return *this;
}

Work::~Work() {
    try {
        wait();
    } catch (...) {  // a failed MPI job: MPI's own error handler has reported it
    }
}

Work all_reduce_async(Tensor& t) {
    const MPI_Datatype type = mpi_type(t, "all_reduce_async");
    Work w;
    if (g_size == 1) return w;
    trace::Scope scope(trace::comm, "all_reduce_async", [&] { return bytes_of(t); });
    auto request = std::make_unique<Work::Request>();
    check(MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), static_cast<int>(t.numel()), type, MPI_SUM, MPI_COMM_WORLD,
                         &request->handle),
          "all_reduce_async");
    w.request_ = std::move(request);
    w.buffer_ = t;
    return w;
}

bool Work::test() {
    if (!request_) return true;
    int done = 0;
    check(MPI_Test(&request_->handle, &done, MPI_STATUS_IGNORE), "Work::test");
    if (done) {
        request_.reset();
        buffer_ = Tensor();
    }
    return done != 0;
}

void Work::wait() {
    if (!request_) return;
    trace::Scope scope(trace::comm, "wait");  // the time this rank waits, no bytes of its own
    const std::unique_ptr<Request> request = std::move(request_);
    const int code = MPI_Wait(&request->handle, MPI_STATUS_IGNORE);
    buffer_ = Tensor();  // only now may the buffer go
    check(code, "Work::wait");
}

}  // namespace nabla::dist
