// minimal — the "minimal C++ program" of SPEC §10: libtorch linked directly,
// nothing else.  It prints nothing but timing.
//
//   minimal --version
//   minimal [-j N] one   MODEL CxHxW [IMAGE.png]
//       load MODEL, build one [1,C,H,W] input (zeros, or IMAGE decoded and
//       resized as in `batch`), run one forward pass.
//   minimal [-j N] batch MODEL CxHxW B LIST [SCALE MEAN STD]
//       load MODEL, then for every B paths of the file LIST (one per line):
//       decode each PNG with libpng's simplified API (8-bit gray or RGB),
//       resize nearest-neighbour, normalise (v*SCALE-MEAN)/STD, forward.
//       The lean baseline for the 500-image RSS and throughput figures.
//
// -j N sets at::set_num_threads(N) (intra-op), as `tinfer -j N` and Python's
// torch.set_num_threads(N) do.
#include <torch/script.h>
#include <torch/version.h>
#include <ATen/Parallel.h>
#include <png.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

static double now_ms()
{
	using namespace std::chrono;
	return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

static int usage()
{
	std::fprintf(stderr, "usage: minimal --version\n"
	                     "       minimal [-j N] one MODEL CxHxW [IMAGE.png]\n"
	                     "       minimal [-j N] batch MODEL CxHxW B LIST [SCALE MEAN STD]\n");
	return 2;
}

// Decodes path into dst[C,H,W] (float, normalised).  false on failure.
static bool load_png(const char *path, int C, int H, int W, float scale, float mean, float stdv,
                     float *dst)
{
	png_image img;
	std::memset(&img, 0, sizeof img);
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, path))
		return false;
	img.format = C == 1 ? PNG_FORMAT_GRAY : PNG_FORMAT_RGB;
	std::vector<unsigned char> px(PNG_IMAGE_SIZE(img));
	if (!png_image_finish_read(&img, nullptr, px.data(), 0, nullptr)) {
		png_image_free(&img);
		return false;
	}
	const int w = (int)img.width, h = (int)img.height;
	for (int c = 0; c < C; c++)
		for (int y = 0; y < H; y++) {
			const int sy = (int)((long)y * h / H);
			for (int x = 0; x < W; x++) {
				const int sx = (int)((long)x * w / W);
				const float v = px[((size_t)sy * w + sx) * C + c];
				dst[((size_t)c * H + y) * W + x] = (v * scale - mean) / stdv;
			}
		}
	return true;
}

int main(int argc, char **argv)
{
	int threads = 0, a = 1;
	if (argc >= 2 && !std::strcmp(argv[1], "--version")) {
		std::printf("%s\n", TORCH_VERSION);
		return 0;
	}
	if (argc >= 3 && !std::strcmp(argv[1], "-j")) {
		threads = std::atoi(argv[2]);
		a = 3;
	}
	if (argc - a < 3)
		return usage();
	const std::string mode = argv[a];
	const char *model = argv[a + 1];
	int C, H, W;
	if (std::sscanf(argv[a + 2], "%dx%dx%d", &C, &H, &W) != 3 || C < 1 || H < 1 || W < 1)
		return usage();

	const double t0 = now_ms();
	if (threads > 0)
		at::set_num_threads(threads);
	torch::jit::Module m = torch::jit::load(model);
	m.eval();
	const double t1 = now_ms();
	c10::InferenceMode guard;

	if (mode == "one") {
		at::Tensor x = torch::zeros({1, C, H, W});
		if (argc - a >= 4 && !load_png(argv[a + 3], C, H, W, 1.0f / 255, 0.f, 1.f, x.data_ptr<float>())) {
			std::fprintf(stderr, "minimal: cannot decode %s\n", argv[a + 3]);
			return 1;
		}
		at::Tensor y = m.forward({x}).toTensor();
		const double t2 = now_ms();
		std::printf("load_ms=%.1f forward_ms=%.1f total_ms=%.1f\n", t1 - t0, t2 - t1, t2 - t0);
		return 0;
	}
	if (mode != "batch" || argc - a < 5)
		return usage();
	const int B = std::atoi(argv[a + 3]);
	if (B < 1)
		return usage();
	float scale = 1.0f / 255, mean = 0.f, stdv = 1.f;
	if (argc - a >= 8) {
		scale = (float)std::atof(argv[a + 5]);
		mean = (float)std::atof(argv[a + 6]);
		stdv = (float)std::atof(argv[a + 7]);
	}
	std::vector<std::string> paths;
	{
		std::ifstream in(argv[a + 4]);
		for (std::string line; std::getline(in, line);)
			if (!line.empty())
				paths.push_back(line);
	}
	const size_t per = (size_t)C * H * W;
	std::vector<float> buf(per * B);
	size_t done = 0;
	long checksum = 0;
	for (size_t i = 0; i < paths.size(); i += B) {
		const int n = (int)std::min<size_t>(B, paths.size() - i);
		for (int k = 0; k < n; k++)
			if (!load_png(paths[i + k].c_str(), C, H, W, scale, mean, stdv, buf.data() + per * k)) {
				std::fprintf(stderr, "minimal: cannot decode %s\n", paths[i + k].c_str());
				return 1;
			}
		at::Tensor x = torch::from_blob(buf.data(), {n, C, H, W});
		at::Tensor y = m.forward({x}).toTensor();
		checksum += y.argmax(1).sum().item<long>();  // use the result
		done += n;
	}
	const double t2 = now_ms();
	std::printf("images=%zu load_ms=%.1f loop_ms=%.1f images_per_s=%.2f total_ms=%.1f argmax_sum=%ld\n",
	            done, t1 - t0, t2 - t1, done / ((t2 - t1) / 1e3), t2 - t0, checksum);
	return 0;
}
