// apps/progress.h — the progress bar of long loops (tqdm): count, bar, elapsed, ETA, it/s and a postfix.
//
// On a terminal it redraws one line on stderr at most 10 times a second:
//   epoch 3/20  42%|██████▎        | 21/50 [00:05<00:07, 4.02it/s] loss 0.2134
// When stderr is not a terminal (CI, a log file) it prints a plain line every `plain_every` seconds and at the end,
// so logs stay readable. In a data-parallel run only rank 0 draws bars (the others still print write()'s lines).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>

namespace nabla::apps {

class ProgressBar {
public:
    ProgressBar(std::string description, int64_t total, double plain_every_seconds = 10.0);
    ~ProgressBar();  // finishes the line if close() was not called
    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    void set_postfix(std::string postfix) { postfix_ = std::move(postfix); }
    void update(int64_t n = 1);       // n more items done
    void set_position(int64_t done);  // resuming: items already done before this run (not counted in the rate)
    void close();
    // A message line above the bar (tqdm.write): a warning printed while the bar runs does not break it.
    void write(const std::string& line);

    // "01:23" or "1:02:03"
    static std::string format_duration(double seconds);
    // The line shown for `done` of `total` after `elapsed` seconds at `rate` items/s (tested on its own).
    static std::string render(const std::string& description, int64_t done, int64_t total, double elapsed, double rate,
                              const std::string& postfix, int width);

private:
    void draw(bool final);

    using Clock = std::chrono::steady_clock;
    std::string description_, postfix_;
    int64_t total_, done_ = 0, start_done_ = 0, drawn_done_ = -1;
    bool tty_, closed_ = false;
    double plain_every_;
    Clock::time_point start_, last_draw_;
    bool hidden_;  // not rank 0
};

}  // namespace nabla::apps
