// apps/progress.cpp — ProgressBar: tqdm's layout, redrawn in place on a terminal, plain lines otherwise.
#include "apps/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "nn/distributed.h"

namespace nabla::apps {

ProgressBar::ProgressBar(std::string description, int64_t total, double plain_every_seconds)
    : description_(std::move(description)),
      total_(total),
      tty_(::isatty(STDERR_FILENO) != 0),
      plain_every_(plain_every_seconds),
      start_(Clock::now()),
      last_draw_(start_),
      hidden_(dist::rank() != 0) {}

ProgressBar::~ProgressBar() { close(); }

void ProgressBar::set_position(int64_t done) {
    done_ = start_done_ = done;
    start_ = Clock::now();
}

void ProgressBar::update(int64_t n) {
    done_ += n;
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_draw_).count();
    if (since >= (tty_ ? 0.1 : plain_every_) || done_ == total_) {
        last_draw_ = now;
        draw(false);
    }
}

void ProgressBar::close() {
    if (closed_) return;
    closed_ = true;
    if (tty_)
        draw(true);
    else if (drawn_done_ != done_)  // a log already has the last line when update() reached the total
        draw(true);
}

void ProgressBar::write(const std::string& line) {
    if (hidden_) {  // another rank's warning: say whose
        fmt::print(stderr, "rank {}: {}\n", dist::rank(), line);
        std::fflush(stderr);
    } else if (tty_ && !closed_) {
        fmt::print(stderr, "\r\x1b[K{}\n", line);
        draw(false);
    } else {
        fmt::print(stderr, "{}\n", line);
        std::fflush(stderr);
    }
}

std::string ProgressBar::format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const auto s = static_cast<int64_t>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

std::string ProgressBar::render(const std::string& description, int64_t done, int64_t total, double elapsed,
                                double rate, const std::string& postfix, int width) {
    const std::string rate_text =
        rate >= 1 || rate == 0 ? fmt::format("{:.2f}it/s", rate) : fmt::format("{:.2f}s/it", 1 / rate);
    const double remaining = rate > 0 && total > 0 ? static_cast<double>(total - done) / rate : NAN;
    std::string line = description.empty() ? "" : description + " ";
    if (total <= 0)  // unknown length: count and rate only
        return line + fmt::format("{} [{}, {}] {}", done, format_duration(elapsed), rate_text, postfix);
    const double frac = std::clamp(static_cast<double>(done) / static_cast<double>(total), 0.0, 1.0);
    line += fmt::format("{:3.0f}%|", 100 * frac);
    // Eighth-blocks as tqdm draws them.
    static const char* kPartial[] = {"", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
    const int cells = std::max(width, 1);
    const int eighths = static_cast<int>(frac * cells * 8);
    std::string bar;
    for (int i = 0; i < eighths / 8; ++i) bar += "█";
    int used = eighths / 8;
    if (used < cells && eighths % 8) {
        bar += kPartial[eighths % 8];
        ++used;
    }
    bar += std::string(static_cast<size_t>(cells - used), ' ');
    line += bar + fmt::format("| {}/{} [{}<{}, {}]", done, total, format_duration(elapsed), format_duration(remaining),
                              rate_text);
    if (!postfix.empty()) line += " " + postfix;
    return line;
}

void ProgressBar::draw(bool final) {
    drawn_done_ = done_;
    if (hidden_) return;
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double rate = elapsed > 0 ? static_cast<double>(done_ - start_done_) / elapsed : 0;
    if (tty_) {
        winsize ws{};
        const int columns = ::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 100;
        const int fixed = static_cast<int>(description_.size() + postfix_.size()) + 45;
        const int width = std::clamp(columns - fixed, 10, 40);
        fmt::print(stderr, "\r{}\x1b[K{}", render(description_, done_, total_, elapsed, rate, postfix_, width),
                   final ? "\n" : "");
    } else {
        fmt::print(stderr, "{}\n", render(description_, done_, total_, elapsed, rate, postfix_, 20));
    }
    std::fflush(stderr);
}

}  // namespace nabla::apps
