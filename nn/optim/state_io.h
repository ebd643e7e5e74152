// nn/optim/state_io.h — StateIO: saving and loading the scalar state of optimizers, schedulers and ModelEMA as small
// tensors of a TensorMap, so that a checkpoint is one safetensors file (nn/safetensors.h). The counterpart of the
// Python dicts torch's state_dict() returns.
//
// An object lists its fields once, in a function that takes a StateIO, and that one list serves saving, checking
// and loading:
//   void fields(StateIO& io) { io.field("last_epoch", last_epoch_); io.field("base_lrs", base_lrs_); }
// Encoding: double -> 0-dim float64, int64_t -> 0-dim int64, bool -> 0-dim bool, std::vector<double> and
// std::array<double, N> -> 1-D float64, std::vector<int64_t> -> 1-D int64. Loading accepts any dtype with the right
// number of values (a value saved by another tool as float32 still loads).
//
// Loading is two passes so that a bad state leaves the object untouched: check() visits the fields and collects every
// problem (a missing key, a wrong number of values), then load() visits them again and writes.
#pragma once
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nn/safetensors.h"

namespace nabla::optim {

class StateIO {
public:
    static StateIO saver(TensorMap& out, std::string prefix = "");
    static StateIO checker(const TensorMap& in, std::string prefix = "");
    static StateIO loader(const TensorMap& in, std::string prefix = "");

    void field(const std::string& name, double& value);
    void field(const std::string& name, int64_t& value);
    void field(const std::string& name, bool& value);
    void field(const std::string& name,
               std::optional<double>& value);  // saved only when set; loading unsets it if absent
    // A vector keeps its length when loading unless `resizable` (a list of milestones may have any length).
    void field(const std::string& name, std::vector<double>& values, bool resizable = false);
    void field(const std::string& name, std::vector<int64_t>& values, bool resizable = false);
    template <size_t N>
    void field(const std::string& name, std::array<double, N>& values) {
        std::vector<double> v(values.begin(), values.end());
        field(name, v);
        if (mode_ == Mode::load) std::copy(v.begin(), v.end(), values.begin());
    }

    // The keys visited so far (with prefix): a caller compares them with the map's keys to find unexpected ones.
    const std::set<std::string>& visited() const { return visited_; }
    const std::vector<std::string>& problems() const { return problems_; }
    bool saving() const { return mode_ == Mode::save; }

private:
    enum class Mode { save, check, load };
    StateIO(Mode mode, TensorMap* out, const TensorMap* in, std::string prefix)
        : mode_(mode), out_(out), in_(in), prefix_(std::move(prefix)) {}
    // The saved tensor for `name` when it exists and holds `numel` values (any count if numel < 0); else a problem.
    const Tensor* find(const std::string& name, int64_t numel);

    Mode mode_;
    TensorMap* out_;
    const TensorMap* in_;
    std::string prefix_;
    std::set<std::string> visited_;
    std::vector<std::string> problems_;
};

// Keys of `in` that start with `prefix` but were not visited: "unexpected key" problems, as Module::load_state_dict.
std::vector<std::string> unexpected_keys(const TensorMap& in, const std::set<std::string>& visited,
                                         const std::string& prefix = "");

}  // namespace nabla::optim
