// tests/faults/checkpoint_writer.cpp — the process that test_crash_safety.cpp kills and starves of disk space: it
// writes Nabla checkpoints whose every value says which save made it, so a test can tell a whole checkpoint of
// save k from anything else.
//   checkpoint_writer loop PATH N     resume from PATH if it is there (step k), then save steps k+1, k+2, ... forever
//   checkpoint_writer enospc DIR N    on a nearly full file system: save step 1 (small), then step 2 with N
//                                     elements, which must fail; step 1 must still load, and no temporary file stay
// Checkpoint of step k: model tensors "a" [N] and "b" [N / 2] filled with k and -k, optimizer tensor "exp_avg" [N]
// filled with k / 2, step = k. Exit status: 0 done, 1 an unexpected error (printed), 2 a failed expectation.
#include <fmt/format.h>

#include <filesystem>
#include <string>

#include "nn/checkpoint.h"
#include "ops/factory.h"

using namespace nabla;
namespace fs = std::filesystem;

namespace {

nn::Checkpoint make(int64_t step, int64_t n) {
    nn::Checkpoint c;
    const double k = static_cast<double>(step);
    c.model = {{"a", full({n}, k)}, {"b", full({n / 2}, -k)}};
    c.optimizer = {{"exp_avg", full({n}, k / 2)}};
    c.step = step;
    c.epoch = step / 10;
    return c;
}

int fail(const std::string& what) {
    fmt::print(stderr, "checkpoint_writer: {}\n", what);
    return 2;
}

int enospc(const std::string& dir, int64_t n) {
    const std::string path = (fs::path(dir) / "last.safetensors").string();
    nn::save_checkpoint(path, make(1, 16));
    try {
        nn::save_checkpoint(path, make(2, n));
        return fail("the save of " + std::to_string(n) + " elements succeeded on a full disk");
    } catch (const Error& e) {
        fmt::print("{}\n", e.what());  // the message the test checks
    }
    const nn::Checkpoint c = nn::load_checkpoint(path);
    if (c.step != 1 || c.model.at("a").numel() != 16) return fail("the previous checkpoint changed");
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.path().filename() != "last.safetensors") return fail("left behind: " + entry.path().string());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) return fail("usage: checkpoint_writer loop|enospc PATH N");
    const std::string mode = argv[1], path = argv[2];
    const int64_t n = std::stoll(argv[3]);
    try {
        if (mode == "enospc") return enospc(path, n);
        if (mode != "loop") return fail("unknown mode " + mode);
        int64_t step = fs::exists(path) ? nn::load_checkpoint(path).step : 0;
        for (;;) nn::save_checkpoint(path, make(++step, n));
    } catch (const std::exception& e) {
        fmt::print(stderr, "checkpoint_writer: {}\n", e.what());
        return 1;
    }
}
