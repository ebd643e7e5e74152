// tests/dist/dist_worker.cpp — what tests/dist/test_distributed.cpp runs on 2 ranks under mpirun:
//   dist_worker syncbn OUT    SyncBatchNorm + DDP, kSteps SGD steps on each rank's half of the global batch; every
//                             rank writes OUT/syncbn_rank<r>.safetensors (state dict and the global loss per step)
//   dist_worker plain OUT     plain BatchNorm + DDP: one accumulated step (the first backward under no_sync), the
//                             averaged gradients to OUT/plain_rank<r>.safetensors, with a check of dist::all_reduce's
//                             gradient
//   dist_worker error OUT     rank 1 throws before the first backward, while rank 0 enters it (an all-reduce)
//   dist_worker kill OUT      rank 1 dies of SIGKILL there instead
// Each rank starts from a different seed, so only DDP's broadcast makes the models equal.
#include <fmt/format.h>

#include <csignal>
#include <string>

#include "dist/dist_net.h"
#include "nn/distributed.h"
#include "nn/optim/sgd.h"
#include "nn/parallel.h"
#include "nn/safetensors.h"

using namespace nabla;
using namespace nabla::dist_test;

namespace {

Tensor my_half(const Tensor& t) { return t.narrow(0, dist::rank() * kBatch, kBatch); }

void syncbn(const std::string& out) {
    auto net = make_net(100 + static_cast<uint64_t>(dist::rank()));
    nn::convert_sync_batchnorm(*net);
    // Buckets of about 500 bytes: several buckets, so their order and overlap are exercised.
    nn::DistributedDataParallel ddp(*net, {.bucket_cap_mb = 0.0005});
    optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9});
    std::vector<double> losses;
    for (int64_t step = 0; step < kSteps; ++step) {
        auto [x, y] = global_batch(step);
        opt.zero_grad();
        Tensor loss = loss_of(*net, my_half(x), my_half(y));
        loss.backward();
        opt.step();
        losses.push_back(dist::all_reduce(loss.item<double>(), dist::ReduceOp::avg));
    }
    TensorMap state = net->state_dict();
    state["losses"] = from_vector(losses, {kSteps});
    state["buckets"] = full({1}, static_cast<double>(ddp.bucket_count()));
    save_safetensors(fmt::format("{}/syncbn_rank{}.safetensors", out, dist::rank()), state);
}

void plain(const std::string& out) {
    auto net = make_net(100 + static_cast<uint64_t>(dist::rank()));
    nn::DistributedDataParallel ddp(*net);
    auto [x0, y0] = global_batch(0);
    auto [x1, y1] = global_batch(1);
    {
        auto no_sync = ddp.no_sync();  // gradient accumulation: the first micro-batch stays local
        loss_of(*net, my_half(x0), my_half(y0)).backward();
    }
    loss_of(*net, my_half(x1), my_half(y1)).backward();
    TensorMap state;
    for (const auto& [name, p] : net->named_parameters())
        if (p.grad().defined()) state["grad." + name] = p.grad();
    // dist::all_reduce as an op: y = x_0 + x_1 on both ranks; loss_r = sum(y * 10^r), so x_r.grad = 1 + 10.
    Tensor x = full({3}, static_cast<double>(dist::rank() + 1)).requires_grad_();
    Tensor y = dist::all_reduce(x);
    (y * (dist::rank() == 0 ? 1.0 : 10.0)).sum().backward();
    state["all_reduce.y"] = y.detach();
    state["all_reduce.x_grad"] = x.grad();
    save_safetensors(fmt::format("{}/plain_rank{}.safetensors", out, dist::rank()), state);
}

void fault(bool kill) {
    auto net = make_net(100);
    nn::DistributedDataParallel ddp(*net);
    auto [x, y] = global_batch(0);
    if (dist::rank() == 1) {
        if (kill) std::raise(SIGKILL);
        throw ValueError("planted failure on rank 1");
    }
    loss_of(*net, my_half(x), my_half(y)).backward();  // rank 0 waits here for rank 1's gradients
    fmt::print(stderr, "dist_worker: rank 0 finished a backward that rank 1 never joined\n");
}

}  // namespace

int main(int argc, char** argv) {
    dist::init();
    try {
        NB_CHECK_VALUE(argc == 3, "usage: dist_worker syncbn|plain|error|kill OUT");
        NB_CHECK_VALUE(dist::world_size() == 2, "dist_worker: run it with mpirun -np 2, got a world of ",
                       dist::world_size());
        const std::string what = argv[1], out = argv[2];
        if (what == "syncbn")
            syncbn(out);
        else if (what == "plain")
            plain(out);
        else if (what == "error" || what == "kill")
            fault(what == "kill");
        else
            throw ValueError("dist_worker: unknown scenario " + what);
    } catch (const std::exception& e) {
        dist::abort(fmt::format("error: {}", e.what()));
    }
    return 0;
}
