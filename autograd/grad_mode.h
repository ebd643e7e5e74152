// autograd/grad_mode.h — whether ops record on the tape (torch.is_grad_enabled) and NoGradGuard (torch.no_grad()).
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

}  // namespace nabla::autograd

namespace nabla {
using autograd::NoGradGuard;
}
