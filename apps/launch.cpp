// apps/launch.cpp — relaunch_under_mpirun (apps/launch.h).
#include "apps/launch.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "nn/distributed.h"

namespace nabla::apps {

void relaunch_under_mpirun(int argc, char** argv) {
    if (dist::is_initialized()) return;  // already one of mpirun's processes (main called dist::init)
    std::vector<std::string> rest;
    std::string nproc;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "--nproc" && i + 1 < argc)
            nproc = argv[++i];
        else if (a.starts_with("--nproc="))
            nproc = a.substr(8);
        else
            rest.push_back(a);
    }
    if (nproc.empty() || rest.empty() || rest[0] != "train") return;
    int n = 0;
    try {
        n = std::stoi(nproc);
    } catch (const std::exception&) {
        return;  // CLI11 reports the bad value
    }
    if (n <= 1) return;
    std::vector<std::string> cmd{"mpirun", "-np", std::to_string(n)};
    if (::geteuid() == 0) cmd.push_back("--allow-run-as-root");
    char self[4096];
    const ssize_t len = ::readlink("/proc/self/exe", self, sizeof self - 1);
    cmd.push_back(len > 0 ? std::string(self, static_cast<size_t>(len)) : std::string(argv[0]));
    cmd.insert(cmd.end(), rest.begin(), rest.end());
    std::string line;
    for (const std::string& c : cmd) line += (line.empty() ? "" : " ") + c;
    fmt::print(stderr, "{}\n", line);
    std::vector<char*> args;
    for (std::string& c : cmd) args.push_back(c.data());
    args.push_back(nullptr);
    ::execvp("mpirun", args.data());
    throw Error(
        fmt::format("--nproc {}: could not start mpirun ({}); install OpenMPI (Debian: openmpi-bin) or run "
                    "`{}` yourself",
                    n, std::strerror(errno), line));
}

}  // namespace nabla::apps
