// core/device.h — where a tensor's storage lives (torch.device): the host, or CUDA device `index`.
#pragma once
#include <fmt/format.h>

#include <cstdint>
#include <string>

namespace nabla {

enum class DeviceType : uint8_t { CPU, CUDA };
inline constexpr int kDeviceTypes = 2;  // tables indexed by DeviceType have this many entries

struct Device {
    DeviceType type = DeviceType::CPU;
    int index = 0;

    bool is_cpu() const { return type == DeviceType::CPU; }
    bool is_cuda() const { return type == DeviceType::CUDA; }
    bool operator==(const Device&) const = default;
    std::string str() const { return is_cpu() ? "cpu" : fmt::format("cuda:{}", index); }
    static Device parse(const std::string& s);  // "cpu", "cuda", "cuda:1"
};

inline constexpr Device kCPU{DeviceType::CPU, 0};
inline constexpr Device kCUDA{DeviceType::CUDA, 0};

}  // namespace nabla

template <>
struct fmt::formatter<nabla::Device> : fmt::formatter<std::string> {
    auto format(const nabla::Device& d, fmt::format_context& ctx) const {
        return fmt::formatter<std::string>::format(d.str(), ctx);
    }
};
