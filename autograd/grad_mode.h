// autograd/grad_mode.h — whether ops record on the tape (torch.is_grad_enabled) and NoGradGuard (torch.no_grad());
// anomaly mode (torch.autograd.set_detect_anomaly / detect_anomaly()): while it is on, backward checks every gradient
// a node returns and throws AnomalyError naming the node whose backward produced a NaN or an infinity.
#pragma once

namespace nabla::autograd {

bool is_grad_enabled();
void set_grad_enabled(bool enabled);  // for this thread

class NoGradGuard {
public:
    NoGradGuard() : previous_(is_grad_enabled()) { set_grad_enabled(false); }
    ~NoGradGuard() { set_grad_enabled(previous_); }
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

bool is_anomaly_enabled();
void set_detect_anomaly(bool enabled);  // for this thread

class DetectAnomalyGuard {
public:
    DetectAnomalyGuard() : previous_(is_anomaly_enabled()) { set_detect_anomaly(true); }
    ~DetectAnomalyGuard() { set_detect_anomaly(previous_); }
    DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
    DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

private:
    bool previous_;
};

}  // namespace nabla::autograd

namespace nabla {
using autograd::DetectAnomalyGuard;
using autograd::NoGradGuard;
}  // namespace nabla
