// tests/faults/test_crash_safety.cpp — checkpoints survive the faults of a long run: a process killed with SIGKILL at
// random moments while it saves (100 kills; after each, the last complete checkpoint loads and the next process
// resumes from it bit for bit), and a disk that fills up during a save (a real ENOSPC on a small tmpfs: a clear
// error, the previous checkpoint intact). The saving process is tests/faults/checkpoint_writer.cpp.
#include <fmt/format.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <thread>

#include "nn/checkpoint.h"
#include "support/support.h"

namespace fs = std::filesystem;

namespace {

pid_t spawn(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    return pid;
}

// Which file `path` names (inode and modification time; "" for none): each save renames a new file into place, and
// an inode number alone may be reused by the next file.
std::string identity(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return "";
    return fmt::format("{}:{}.{}", st.st_ino, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

int temporaries(const std::string& dir) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir))
        n += e.path().filename().string().find(".tmp.") != std::string::npos;
    return n;
}

// Every value of the checkpoint is the one save `c.step` wrote (checkpoint_writer.cpp's make()).
void require_whole(const nn::Checkpoint& c, int64_t n) {
    const double k = static_cast<double>(c.step);
    REQUIRE(c.model.at("a").numel() == n);
    REQUIRE(c.model.at("b").numel() == n / 2);
    REQUIRE(c.optimizer.at("exp_avg").numel() == n);
    REQUIRE_THAT(c.model.at("a"), ClosesTo(full({n}, k), 0, 0));
    REQUIRE_THAT(c.model.at("b"), ClosesTo(full({n / 2}, -k), 0, 0));
    REQUIRE_THAT(c.optimizer.at("exp_avg"), ClosesTo(full({n}, k / 2), 0, 0));
    REQUIRE(c.epoch == c.step / 10);
}

}  // namespace

TEST_CASE("checkpoints: 100 SIGKILLs at random moments while saving; each time the last one loads and resumes",
          "[faults]") {
    TempDir dir;
    const std::string path = dir.file("last.safetensors");
    const int64_t n = 1 << 18;  // 2.5 MB a checkpoint: a save (with its fsync) takes milliseconds
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> delay_us(0, 30000);
    int64_t last_step = 0;
    int mid_save = 0;  // kills that left a temporary file: the process died inside a save
    for (int kill = 0; kill < 100; ++kill) {
        const std::string before = identity(path);
        const pid_t pid = spawn({NABLA_CHECKPOINT_WRITER, "loop", path, std::to_string(n)});
        REQUIRE(pid > 0);
        // Once this process has renamed its first checkpoint into place it only saves: kill it at a random moment.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while (identity(path) == before && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us(rng)));
        REQUIRE(::kill(pid, SIGKILL) == 0);
        int status = 0;
        REQUIRE(::waitpid(pid, &status, 0) == pid);
        INFO("kill " << kill << ", status " << status);
        REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL));  // it was still saving, not failed
        const int left = temporaries(dir.path.string());
        REQUIRE(left <= 1);  // the next save removes a dead process's temporary file
        mid_save += left;
        REQUIRE(identity(path) != before);  // it did save (within the 30 s allowed)
        const nn::Checkpoint c = nn::load_checkpoint(path);
        require_whole(c, n);
        REQUIRE(c.step >= last_step);  // each process resumed from the previous one's last checkpoint
        last_step = c.step;
    }
    WARN(fmt::format("100 kills: {} inside a save, {} checkpoints completed", mid_save, last_step));
    CHECK(mid_save >= 5);     // the kills did land inside saves (19 of 100 here)
    CHECK(last_step >= 100);  // and each process saved at least once before it was killed
}

TEST_CASE("checkpoints: a disk that fills up during a save is a clear error and keeps the previous checkpoint",
          "[faults]") {
    TempDir dir;
    // A private mount namespace (no root needed where user namespaces are allowed) with a 256 KiB tmpfs on `dir`:
    // the writer saves a small checkpoint, then one of 1 MB, which meets ENOSPC.
    const std::string cmd = fmt::format(
        "unshare -r -m sh -c 'mount -t tmpfs -o size=256k none {0} 2>/dev/null || exit 77; exec {1} enospc {0} "
        "262144' 2>&1",
        dir.path.string(), NABLA_CHECKPOINT_WRITER);
    FILE* pipe = ::popen(cmd.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string out;
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
    const int status = ::pclose(pipe);
    INFO(out);
    if (WIFEXITED(status) && (WEXITSTATUS(status) == 77 || out.find("unshare:") == 0)) {
        WARN("skipped: cannot mount a tmpfs in a user namespace here (" << out
                                                                        << "); the file-size-limit test in "
                                                                           "tests/nn/test_safetensors.cpp covers "
                                                                           "a failing write");
        return;
    }
    REQUIRE(WIFEXITED(status));
    REQUIRE(WEXITSTATUS(status) == 0);  // the writer's own checks passed: step 1 intact, nothing left behind
    REQUIRE_THAT(out, Catch::StartsWith("save_safetensors: " + dir.file("last.safetensors") + ": cannot write ") &&
                          Catch::Contains("No space left on device"));
}
