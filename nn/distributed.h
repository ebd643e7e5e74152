// nn/distributed.h — the processes of a data-parallel run and their collectives (torch.distributed), on MPI.
//
// A program started by `mpirun -np N` is N processes, the ranks 0 .. N-1. init() joins them (MPI_Init) when the
// environment says mpirun started this process, and does nothing otherwise: a plain run is rank 0 of a world of 1,
// and every collective below is then the identity, so code written for N ranks runs unchanged on one.
//
//   dist::init();                              // once, at the start of main
//   dist::broadcast_(weight, /*root=*/0);      // every rank gets rank 0's values
//   dist::all_reduce_(grad);                   // in place: the sum over the ranks
//   Tensor s = dist::all_reduce(partial_sum);  // differentiable: its backward all-reduces the gradient
//
// Collectives are matched by order, as in MPI: every rank must call the same ones in the same order. Only the thread
// that called init() may call them (MPI_THREAD_FUNNELED). A rank that fails calls abort() (main does it for an
// uncaught error), which stops every rank with the message instead of leaving them waiting in a collective; a rank
// that dies of a signal is noticed by mpirun, which stops the others.
// Every collective appears in a trace (nabla trace) as a "comm" scope named after it, with its byte count where
// other scopes have their FLOPs. docs/distributed.md describes the data-parallel training built on this.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace nabla::dist {

// Joins the MPI job when mpirun (or another launcher of OpenMPI) started this process; otherwise the world is this
// process alone. Safe to call more than once. Finalises MPI at exit.
void init();
bool is_initialized();  // init() joined an MPI job (a world of 1 started by `mpirun -np 1` counts)
int rank();             // 0 .. world_size() - 1; 0 without MPI
int world_size();       // 1 without MPI
int local_rank();       // the rank among the processes on this machine (OMPI_COMM_WORLD_LOCAL_RANK)
int local_size();       // how many ranks share this machine
inline bool is_main_process() { return rank() == 0; }

// Stops every rank of the job with exit status `code` after printing `message` (MPI_Abort); without MPI, prints
// the message and exits. Never returns.
[[noreturn]] void abort(const std::string& message, int code = 1);

// --- collectives on tensors (contiguous float32, float64 or int64; an Error names the op and the tensor) ---
enum class ReduceOp { sum, avg, max, min };
void all_reduce_(Tensor& t, ReduceOp op = ReduceOp::sum);  // in place, on every rank
void broadcast_(Tensor& t, int root = 0);                  // in place: root's values everywhere
void barrier();
// The sum over the ranks of `t`, as an autograd op: its backward is the all-reduced gradient (each rank's input
// contributes to every rank's output). SyncBatchNorm's statistics go through it.
Tensor all_reduce(const Tensor& t);
// The same on plain numbers (metrics, flags), elementwise; and root's value of a number on every rank.
std::vector<double> all_reduce(std::vector<double> values, ReduceOp op = ReduceOp::sum);
double all_reduce(double value, ReduceOp op = ReduceOp::sum);
double broadcast(double value, int root = 0);

// A non-blocking all-reduce (sum) in flight: DistributedDataParallel launches one per bucket of gradients while
// backward goes on. test() lets MPI make progress and says whether it is done; wait() blocks until it is.
class Work {
public:
    Work();
    Work(Work&& other) noexcept;
    Work& operator=(Work&& other) noexcept;  // waits for the work it replaces
    ~Work();                                 // waits, so that MPI never writes into a freed buffer
    bool test();
    void wait();

private:
    friend Work all_reduce_async(Tensor& t);
    struct Request;  // the MPI_Request (nn/distributed.cpp); null when done or never started
    std::unique_ptr<Request> request_;
    Tensor buffer_;  // keeps the buffer alive while MPI writes into it
};
Work all_reduce_async(Tensor& t);  // sum, in place; `t` contiguous float32

}  // namespace nabla::dist
