// tests/dist/test_distributed.cpp — data-parallel training (nn/distributed.h, nn/parallel.h, SyncBatchNorm, the
// DataLoader's shards). The 2-rank cases run tests/dist/dist_worker.cpp under `mpirun -np 2` (one OpenMP thread per
// rank) and compare what it wrote with the same training done here in one process:
// - SyncBatchNorm: 2 ranks x batch 4 give the losses and weights (running statistics included) of 1 process x 8;
// - plain BatchNorm: the averaged gradients equal the mean of the two halves' gradients computed here, gradient
//   accumulation under no_sync() included, and the unused layer gets none;
// - a rank that throws or is killed makes mpirun stop the job with an error, within a minute rather than hanging;
// - `nabla train` on 2 ranks with --sync-bn ends with the weights of the same run in one process.
#include <fmt/format.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "dist/dist_net.h"
#include "nn/checkpoint.h"
#include "nn/data/dataloader.h"
#include "nn/distributed.h"
#include "nn/optim/sgd.h"
#include "nn/parallel.h"
#include "support/support.h"

using namespace nabla;
using namespace nabla::dist_test;
using nabla::testing::ClosesTo;
namespace fs = std::filesystem;

namespace {

struct MpiRun {
    int status = -1;  // the exit status of mpirun (under `timeout`: 124 when it hung)
    std::string output;
    double seconds = 0;
};

// Runs dist_worker SCENARIO OUT on 2 ranks, one OpenMP thread each, stopped after 120 s.
MpiRun run_workers(const std::string& scenario, const fs::path& out) {
    fs::create_directories(out);
    // Root may run mpirun only when it says so; vader's single-copy mode needs ptrace rights containers lack.
    const std::string cmd = fmt::format(
        "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 timeout 120 {} -np 2 "
        "--oversubscribe --mca btl_vader_single_copy_mechanism none {} {} {} 2>&1",
        NABLA_MPIEXEC, NABLA_DIST_WORKER, scenario, out.string());
    MpiRun r;
    const auto t0 = std::chrono::steady_clock::now();
    FILE* pipe = popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buf[4096];
    while (size_t n = fread(buf, 1, sizeof buf, pipe)) r.output.append(buf, n);
    const int raw = pclose(pipe);
    r.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return r;
}

// Whether mpirun can start 2 processes here at all; the 2-rank cases say so and stop where it cannot (a container
// without the shared memory or process rights OpenMPI needs), instead of failing on the machine, not the code.
bool mpirun_works() {
    static const bool works = [] {
        const std::string cmd = fmt::format(
            "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout 60 {} -np 2 --oversubscribe "
            "--mca btl_vader_single_copy_mechanism none true > /dev/null 2>&1",
            NABLA_MPIEXEC);
        return std::system(cmd.c_str()) == 0;
    }();
    if (!works) WARN("SKIPPED: `mpirun -np 2 true` fails on this machine; the 2-rank tests did not run");
    return works;
}

fs::path scratch(const std::string& name) {
    const fs::path p = fs::temp_directory_path() / fmt::format("nabla_dist_{}_{}", name, ::getpid());
    fs::remove_all(p);
    return p;
}

// Runs dist_worker SCENARIO on 2 ranks and requires it to succeed (its output shown otherwise); the folder it wrote.
fs::path run_scenario(const std::string& scenario) {
    const fs::path out = scratch(scenario);
    const MpiRun run = run_workers(scenario, out);
    INFO(run.output);
    REQUIRE(run.status == 0);
    return out;
}

// What rank r of SCENARIO wrote (dist_worker.cpp: <scenario>_rank<r>.safetensors).
TensorMap rank_file(const fs::path& out, const std::string& scenario, int r) {
    return load_safetensors((out / fmt::format("{}_rank{}.safetensors", scenario, r)).string());
}

Tensor half(const Tensor& t, int64_t r) { return t.narrow(0, r * kBatch, kBatch); }

}  // namespace

TEST_CASE("a world of one: the collectives are the identity, SyncBatchNorm is BatchNorm2d") {
    REQUIRE(dist::world_size() == 1);
    REQUIRE(dist::rank() == 0);
    Tensor t = t32({1, 2, 3});
    dist::all_reduce_(t);
    dist::broadcast_(t, 0);
    REQUIRE_THAT(t, ClosesTo(t32({1, 2, 3}), 0, 0));
    REQUIRE(dist::all_reduce(2.5) == 2.5);
    REQUIRE_THROWS_WITH(dist::broadcast_(t, 1), Catch::Contains("root 1 is not a rank of a world of 1"));
    Tensor strided = t32({1, 2, 3, 4}, {2, 2}).t();
    REQUIRE_THROWS_WITH(dist::all_reduce_(strided), Catch::Contains("not contiguous"));

    auto a = make_net(7), b = make_net(7);
    REQUIRE(nn::convert_sync_batchnorm(*b) == 2);
    REQUIRE(b->bn1->type_name() == "SyncBatchNorm");
    auto [x, y] = global_batch(0);
    REQUIRE_THAT((*b)(x), ClosesTo((*a)(x), 0, 0));
    REQUIRE_THAT(b->bn1->running_var, ClosesTo(a->bn1->running_var, 0, 0));
}

TEST_CASE("DataLoader shards (DistributedSampler): disjoint, covering, padded, reshuffled per epoch") {
    auto set = std::make_shared<data::TensorDataset>(std::vector<Tensor>{arange(0, 10).to(kFloat32)});
    const data::DataLoaderOptions base{.batch_size = 2, .shuffle = true, .seed = 3, .num_replicas = 3};
    std::vector<int64_t> all;
    for (int64_t r = 0; r < 3; ++r) {
        auto o = base;
        o.rank = r;
        data::DataLoader loader(set, o);
        REQUIRE(loader.num_examples() == 4);  // ceil(10 / 3)
        REQUIRE(loader.size() == 2);
        const auto order = loader.order(0);
        REQUIRE(order.size() == 4);
        all.insert(all.end(), order.begin(), order.end());
        REQUIRE(loader.order(1) != order);  // a new order every epoch
    }
    // 12 entries: the 10 examples once each, and 2 of them repeated as padding.
    REQUIRE(std::set<int64_t>(all.begin(), all.end()).size() == 10);
    // The shards are the whole-data-set order dealt out in turn.
    auto whole = base;
    whole.num_replicas = 1;
    const auto full_order = data::DataLoader(set, whole).order(0);
    auto r1 = base;
    r1.rank = 1;
    const auto shard1 = data::DataLoader(set, r1).order(0);
    REQUIRE(shard1 == std::vector<int64_t>{full_order[1], full_order[4], full_order[7], full_order[0]});
    auto bad = base;
    bad.rank = 3;
    REQUIRE_THROWS_WITH(data::DataLoader(set, bad), Catch::Contains("rank 3 is not one of num_replicas=3"));
}

TEST_CASE("2 ranks x batch 4 with SyncBatchNorm train as 1 process x batch 8") {
    if (!mpirun_works()) return;
    const fs::path out = run_scenario("syncbn");

    auto net = make_net(100);  // rank 0's seed: DDP broadcast rank 0's weights
    optim::SGD opt(net->parameters(), {.lr = 0.1, .momentum = 0.9});
    std::vector<double> losses;
    for (int64_t step = 0; step < kSteps; ++step) {
        auto [x, y] = global_batch(step);
        opt.zero_grad();
        Tensor loss = loss_of(*net, x, y);
        loss.backward();
        opt.step();
        losses.push_back(loss.item<double>());
    }
    for (int r = 0; r < 2; ++r) {
        const TensorMap got = rank_file(out, "syncbn", r);
        INFO("rank " << r);
        REQUIRE(got.at("buckets").item<double>() >= 4);  // several buckets were in flight
        REQUIRE_THAT(got.at("losses"), ClosesTo(from_vector(losses, {kSteps}), 1e-6, 1e-5));
        for (const auto& [name, t] : net->state_dict()) {
            INFO(name);
            REQUIRE_THAT(got.at(name).to(t.dtype()), ClosesTo(t, 1e-5, 1e-4));
        }
    }
    fs::remove_all(out);
}

TEST_CASE("2 ranks with plain BatchNorm average the gradients, accumulation under no_sync included") {
    if (!mpirun_works()) return;
    const fs::path out = run_scenario("plain");

    // Each rank's two micro-batches accumulated, then the mean over the ranks (local BatchNorm statistics).
    auto [x0, y0] = global_batch(0);
    auto [x1, y1] = global_batch(1);
    std::map<std::string, Tensor> expected;
    for (int64_t r = 0; r < 2; ++r) {
        auto net = make_net(100);
        loss_of(*net, half(x0, r), half(y0, r)).backward();
        loss_of(*net, half(x1, r), half(y1, r)).backward();
        for (const auto& [name, p] : net->named_parameters()) {
            if (!p.grad().defined()) continue;
            Tensor g = p.grad() * 0.5;
            expected[name] = expected.count(name) ? expected[name] + g : g;
        }
    }
    for (int r = 0; r < 2; ++r) {
        const TensorMap got = rank_file(out, "plain", r);
        INFO("rank " << r);
        REQUIRE(got.count("grad.unused.weight") == 0);  // no rank used it: no gradient
        REQUIRE(expected.count("unused.weight") == 0);
        for (const auto& [name, g] : expected) {
            INFO(name);
            REQUIRE_THAT(got.at("grad." + name), ClosesTo(g, 1e-6, 1e-4));
        }
        REQUIRE_THAT(got.at("all_reduce.y"), ClosesTo(t32({3, 3, 3}), 0, 0));
        REQUIRE_THAT(got.at("all_reduce.x_grad"), ClosesTo(t32({11, 11, 11}), 0, 0));
    }
    fs::remove_all(out);
}

TEST_CASE("a rank that fails stops the whole job with its error instead of a hang") {
    if (!mpirun_works()) return;
    for (const std::string what : {"error", "kill"}) {
        INFO(what);
        const fs::path out = scratch(what);
        const MpiRun run = run_workers(what, out);
        INFO(run.output);
        REQUIRE(run.status != 0);
        REQUIRE(run.status != 124);  // not stopped by the timeout: mpirun ended it
        REQUIRE(run.seconds < 60);
        REQUIRE(run.output.find("rank 0 finished a backward") == std::string::npos);
        if (what == "error")
            REQUIRE(run.output.find("rank 1: error: planted failure on rank 1") != std::string::npos);
        else
            REQUIRE(run.output.find("signal 9") != std::string::npos);
        fs::remove_all(out);
    }
}

TEST_CASE("nabla train under mpirun -np 2 --sync-bn trains as one process with the whole batch; rank 0 alone writes") {
    if (!mpirun_works()) return;
    const fs::path dir = scratch("train");
    const std::string nabla = NABLA_CLI;
    REQUIRE(std::system(fmt::format("{} generate ellipses --output {}/data --train 16 --size 24 > /dev/null", nabla,
                                    dir.string())
                            .c_str()) == 0);
    const std::string args = fmt::format(
        "train tinyseg --data {0}/data/train --val {0}/data/val --size 24 --crop 20 --epochs 2 --batch 4 --workers 0 "
        "--seed 3 --sync-bn --exist-ok --output",
        dir.string());
    REQUIRE(std::system(
                fmt::format("{} {} {}/one > {}/one.log 2>&1", nabla, args, dir.string(), dir.string()).c_str()) == 0);
    const std::string mpi = fmt::format(
        "OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1 timeout 300 {} -np 2 "
        "--oversubscribe --mca btl_vader_single_copy_mechanism none {} {} {}/two > {}/two.log 2>&1",
        NABLA_MPIEXEC, nabla, args, dir.string(), dir.string());
    const int status = std::system(mpi.c_str());
    INFO(std::ifstream(dir / "two.log").rdbuf());
    REQUIRE(status == 0);
    const auto one = nn::load_checkpoint((dir / "one/weights/last.safetensors").string());
    const auto two = nn::load_checkpoint((dir / "two/weights/last.safetensors").string());
    REQUIRE(two.step == one.step);
    REQUIRE(two.step == 2 * 4);  // 2 epochs of 16 / 4 batches
    // A conv bias in front of a BatchNorm has a zero gradient in exact arithmetic; Adam divides the rounding noise left
    // by its own size, so such a bias (and the running means that include it) moves by up to lr a step whichever way
    // the noise points, in one process as in two. They are held to that bound; everything else to float rounding.
    const double lr_steps = 0.01 * 8;
    for (const auto& [name, t] : one.model) {
        INFO(name);
        const bool noise_driven = name.ends_with("conv.bias") || name.ends_with("running_mean");
        REQUIRE_THAT(two.model.at(name).to(t.dtype()),
                     noise_driven ? ClosesTo(t, lr_steps, 0) : ClosesTo(t, 1e-5, 1e-3));
    }
    // One results.csv with a row per epoch (rank 1 wrote nothing into it), and the same training losses.
    const auto train_losses = [](const fs::path& csv_path) {
        std::ifstream csv(csv_path);
        std::vector<double> losses;
        std::string line;
        std::getline(csv, line);  // header: epoch,step,train/loss,...
        while (std::getline(csv, line)) {
            const size_t a = line.find(',') + 1, b = line.find(',', a) + 1;
            losses.push_back(std::stod(line.substr(b, line.find(',', b) - b)));
        }
        return losses;
    };
    const auto l1 = train_losses(dir / "one/results.csv"), l2 = train_losses(dir / "two/results.csv");
    REQUIRE(l2.size() == 2);
    REQUIRE(l1.size() == 2);
    for (size_t i = 0; i < 2; ++i) REQUIRE(l2[i] == Approx(l1[i]).epsilon(1e-4));
    fs::remove_all(dir);
}
