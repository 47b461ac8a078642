// gpu_minimal — the "minimal C++ program" for tools/gpu-check's load figure:
// libtorch linked directly, the model loaded straight onto the device as
// torch::jit::load does it, one forward pass of zeros, then its peak RSS.
//
//   gpu_minimal MODEL DEVICE CxHxW      prints "peak_rss_bytes N"
#include <torch/script.h>

#include <cstdio>
#include <cstdlib>
#include <sys/resource.h>

int main(int argc, char **argv)
{
	int C, H, W;
	if (argc != 4 || std::sscanf(argv[3], "%dx%dx%d", &C, &H, &W) != 3) {
		std::fprintf(stderr, "usage: gpu_minimal MODEL DEVICE CxHxW\n");
		return 2;
	}
	try {
		c10::Device dev(argv[2]);
		torch::jit::Module m = torch::jit::load(argv[1], dev);
		m.eval();
		c10::InferenceMode guard;
		at::Tensor x = torch::zeros({1, C, H, W}, at::TensorOptions().device(dev));
		at::Tensor y = m.forward({x}).toTensor().to(at::kCPU);
		(void)y;
	} catch (const std::exception &e) {
		std::fprintf(stderr, "gpu_minimal: %s\n", e.what());
		return 1;
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	std::printf("peak_rss_bytes %lld\n", (long long)ru.ru_maxrss * 1024);
	return 0;
}
