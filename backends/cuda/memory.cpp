// backends/cuda/memory.cpp — copy_ and fill_ on the device, and copies between the host and a device or two devices.
//
// Every copy goes on the device's stream (launch.h). Host to device: from pinned memory (Tensor::pin_memory) the
// copy is asynchronous and the host goes on at once; from ordinary (pageable) memory cudaMemcpyAsync returns once
// the driver has staged the data, so the host buffer may be freed right after either way. Device to host: the host
// waits for the stream, since it reads the result next.
#include <cuda_runtime.h>

#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/device.h"
#include "backends/cuda/elementwise.h"
#include "backends/cuda/launch.h"

namespace nabla {

namespace {

size_t nbytes_of(const Tensor& t) { return static_cast<size_t>(t.numel()) * element_size(t.dtype()); }

// src (on the host) into dst (on a device), dst's dtype.
void copy_to_device(const Tensor& dst, const Tensor& src, Backend& self) {
    cuda::DeviceGuard guard(dst.device());
    const Tensor s = kernel::to(src, dst.dtype());  // contiguous, on the host
    if (!dst.is_contiguous()) {
        Tensor staging = make_tensor(dst.shape(), dst.dtype(), dst.device());
        copy_to_device(staging, s, self);
        return self.copy_(dst, staging);
    }
    cuda::check(
        cudaMemcpyAsync(dst.raw_data(), s.raw_data(), nbytes_of(dst), cudaMemcpyHostToDevice, cuda::current_stream()),
        "copy to device");
}

// src (on a device) into dst (on the host), dst's dtype.
void copy_to_host(const Tensor& dst, const Tensor& src) {
    cuda::DeviceGuard guard(src.device());
    const Tensor s = src.dtype() == dst.dtype() ? kernel::contiguous(src) : kernel::to(src, dst.dtype());
    const Tensor host = dst.is_contiguous() ? dst : make_tensor(dst.shape(), dst.dtype(), kCPU);
    cuda::check(
        cudaMemcpyAsync(host.raw_data(), s.raw_data(), nbytes_of(host), cudaMemcpyDeviceToHost, cuda::current_stream()),
        "copy to host");
    cuda::check(cudaStreamSynchronize(cuda::current_stream()), "copy to host");
    if (!host.is_same(dst)) backend_for(kCPU).copy_(dst, host);
}

}  // namespace

void CudaBackend::copy_(const Tensor& dst, const Tensor& src) {
    if (src.device().is_cpu()) return copy_to_device(dst, src, *this);
    if (dst.device().is_cpu()) return copy_to_host(dst, src);
    if (dst.device() != src.device()) {
        // Between two GPUs: a dense copy of the destination's dtype on the source, then cudaMemcpyPeerAsync after
        // the source's queued work (the source's stream is synchronised first; the copy goes on the destination's).
        Tensor s;
        {
            cuda::DeviceGuard guard(src.device());
            s = src.dtype() == dst.dtype() ? kernel::contiguous(src) : kernel::to(src, dst.dtype());
            cuda::check(cudaStreamSynchronize(cuda::current_stream()), "copy between devices");
        }
        cuda::DeviceGuard guard(dst.device());
        const Tensor d = dst.is_contiguous() ? dst : make_tensor(dst.shape(), dst.dtype(), dst.device());
        cuda::check(cudaMemcpyPeerAsync(d.raw_data(), dst.device().index, s.raw_data(), src.device().index,
                                        nbytes_of(d), cuda::current_stream()),
                    "copy between devices");
        // The copy reads s (or src) on this device's stream, which the source device's stream does not wait for: a
        // later kernel there could overwrite src, or reuse s's block once s is freed below, before the copy has run.
        cuda::check(cudaStreamSynchronize(cuda::current_stream()), "copy between devices");
        if (!d.is_same(dst)) copy_(dst, d);
        return;
    }
    cuda::DeviceGuard guard(dst.device());
    cuda::launch_copy(dst.dtype(), dst.raw_data(), src.dtype(), src.raw_data(),
                      cuda::indexer<2>(dst.shape(), {&dst, &src}), dst.numel());
}

void CudaBackend::fill_(const Tensor& dst, double value) {
    cuda::DeviceGuard guard(dst.device());
    cuda::launch_fill(dst.dtype(), dst.raw_data(), cuda::indexer<1>(dst.shape(), {&dst}), dst.numel(), value);
}

}  // namespace nabla
