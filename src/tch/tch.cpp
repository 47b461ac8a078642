// tch.cpp — the only C++ in tinfer: src/tch/tch.h implemented over
// libtorch's C++ API.  Every entry point catches std::exception (c10::Error
// derives from it) and anything else, stores a one-line message for
// tch_last_error() and returns its sentinel.  Differences between libtorch
// 1.13 and 2.x are handled here and nowhere else.

#include "tch.h"

#include <torch/script.h>
#include <torch/version.h>
#include <torch/cuda.h>
#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <ATen/Version.h>

#ifdef TCH_CUDA
#include <ATen/Context.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <memory>
#include <string>
#include <unordered_set>

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#if (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#endif

#define TCH_AT_LEAST(maj, min) \
	(TORCH_VERSION_MAJOR > (maj) || (TORCH_VERSION_MAJOR == (maj) && TORCH_VERSION_MINOR >= (min)))

struct tch_module {
	torch::jit::Module m;
	c10::Device device;
	std::string path; /* the file, reloaded when the precision changes */
	bool usable = true; /* false after a failed reload: m is empty */
	tch_module(torch::jit::Module mod, c10::Device dev, std::string p)
	    : m(std::move(mod)), device(dev), path(std::move(p)) {}
	bool quiet_once = false; // the next call's libtorch warnings are dropped (the check of a candidate)
	// An empty module has no type: any call on it would crash.
	torch::jit::Module &get()
	{
		if (!usable)
			throw std::runtime_error("the model could not be reloaded in the fallback precision");
		return m;
	}
};

struct tch_value {
	c10::IValue v;
	explicit tch_value(c10::IValue iv) : v(std::move(iv)) {}
};

static thread_local std::string last_error;

// Keeps the line of a libtorch message that says what went wrong: for a
// TorchScript traceback the last "SomethingError: ..." line, otherwise the
// first non-empty line.  Backtraces are never kept.
static std::string one_line(const std::string &msg)
{
	std::string best;
	size_t pos = 0;
	while (pos <= msg.size()) {
		size_t nl = msg.find('\n', pos);
		if (nl == std::string::npos)
			nl = msg.size();
		std::string line = msg.substr(pos, nl - pos);
		size_t b = line.find_first_not_of(" \t");
		if (b != std::string::npos) {
			line = line.substr(b);
			size_t e = line.find("Error: ");
			if (e != std::string::npos && e < 40 && line.find(' ') > e)
				best = line.substr(e + 7);
			else if (best.empty() && line.rfind("Exception raised from", 0) != 0)
				best = line;
		}
		pos = nl + 1;
	}
	// "[enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: ...": the reason only
	if (best.rfind("[enforce fail at", 0) == 0 && best.find("] ") != std::string::npos) {
		best = best.substr(best.find("] ") + 2);
		size_t dot = best.find(". ");
		if (dot != std::string::npos && best.find("==") < dot)
			best = best.substr(dot + 2);
	}
	while (!best.empty() && (best.back() == ' ' || best.back() == '\r'))
		best.pop_back();
	return best.empty() ? std::string("libtorch error") : best;
}

static void set_error(const std::string &s) { last_error = one_line(s); }

#define TRY(sentinel, ...)                                      \
	try {                                                   \
		last_error.clear();                             \
		__VA_ARGS__                                     \
	} catch (const c10::Error &e) {                         \
		set_error(e.what_without_backtrace());          \
	} catch (const std::exception &e) {                     \
		set_error(e.what());                            \
	} catch (...) {                                         \
		set_error("unknown C++ exception");             \
	}                                                       \
	return sentinel;

static c10::ScalarType to_scalar(int t)
{
	switch (t) {
	case TCH_BOOL: return at::kBool;
	case TCH_U8: return at::kByte;
	case TCH_I8: return at::kChar;
	case TCH_I16: return at::kShort;
	case TCH_I32: return at::kInt;
	case TCH_I64: return at::kLong;
	case TCH_F16: return at::kHalf;
	case TCH_BF16: return at::kBFloat16;
	case TCH_F32: return at::kFloat;
	case TCH_F64: return at::kDouble;
	}
	throw std::invalid_argument("unsupported element type");
}

static int from_scalar(c10::ScalarType s)
{
	switch (s) {
	case at::kBool: return TCH_BOOL;
	case at::kByte: return TCH_U8;
	case at::kChar: return TCH_I8;
	case at::kShort: return TCH_I16;
	case at::kInt: return TCH_I32;
	case at::kLong: return TCH_I64;
	case at::kHalf: return TCH_F16;
	case at::kBFloat16: return TCH_BF16;
	case at::kFloat: return TCH_F32;
	case at::kDouble: return TCH_F64;
	default: return TCH_OTHER;
	}
}

// Autocast on or off for the device type of dev, for the lifetime of the
// guard.  libtorch 2.4 replaced the per-device setters with ones taking a
// device type.
struct autocast_guard {
	bool on;
	c10::DeviceType type;
	autocast_guard(bool enable, c10::Device dev) : on(enable), type(dev.type())
	{
		if (!on)
			return;
#if TCH_AT_LEAST(2, 4)
		at::ScalarType dt = type == c10::DeviceType::CUDA ? at::kHalf : at::kBFloat16;
		at::autocast::set_autocast_dtype(type, dt);
		at::autocast::set_autocast_enabled(type, true);
#else
		if (type == c10::DeviceType::CUDA) {
			at::autocast::set_autocast_gpu_dtype(at::kHalf);
			at::autocast::set_enabled(true);
		} else {
			at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
			at::autocast::set_cpu_enabled(true);
		}
#endif
		at::autocast::increment_nesting();
	}
	~autocast_guard()
	{
		if (!on)
			return;
		if (at::autocast::decrement_nesting() == 0)
			at::autocast::clear_cache();
#if TCH_AT_LEAST(2, 4)
		at::autocast::set_autocast_enabled(type, false);
#else
		if (type == c10::DeviceType::CUDA)
			at::autocast::set_enabled(false);
		else
			at::autocast::set_cpu_enabled(false);
#endif
	}
};

extern "C" {

// What this shim was compiled against, in a section of its own that
// engine_built_against() finds from the ELF headers without loading the
// shim (tinfer --version, info).
__attribute__((used, section(TCH_BUILT_SECTION))) extern const char tch_built_against[] =
	TCH_BUILT_MARKER TORCH_VERSION;

int tch_abi_version(void) { return TCH_ABI_VERSION; }

const char *tch_last_error(void) { return last_error.c_str(); }

// The loaded library's own version: libtorch keeps its build settings,
// "TORCH_VERSION=1.13.0" among them, in libtorch_cpu (at::show_config), so
// a shim run against another libtorch than its headers' still says the truth.
const char *tch_version(void)
{
	static std::string v;
	if (!v.empty())
		return v.c_str();
	try {
		std::string cfg = at::show_config();
		size_t at = cfg.find("TORCH_VERSION=");
		if (at != std::string::npos) {
			at += 14;
			size_t end = cfg.find_first_of(", \n", at);
			v = cfg.substr(at, end == std::string::npos ? std::string::npos : end - at);
		}
	} catch (...) {
	}
	if (v.empty())
		v = TORCH_VERSION;
	return v.c_str();
}

// The BLAS library libtorch was linked with, as this process loaded it:
// Debian's libtorch links libblas.so.3, which the alternatives system points
// at OpenBLAS, BLIS, ATLAS or netlib's reference BLAS.  NULL when none is
// loaded under that name (pip wheels carry MKL inside libtorch_cpu).
static void *blas_handle(void)
{
	static void *h = dlopen("libblas.so.3", RTLD_LAZY | RTLD_NOLOAD);
	return h;
}

const char *tch_blas(void)
{
	static std::string name;
	if (!name.empty())
		return name.c_str();
	void *h = blas_handle();
	if (!h) {
		name = "built into libtorch";
		return name.c_str();
	}
	if (auto config = (char *(*)(void))dlsym(h, "openblas_get_config")) {
		name = config();
		return name.c_str();
	}
	Dl_info info;
	void *sgemm = dlsym(h, "sgemm_");
	char real[PATH_MAX];
	std::string path = sgemm && dladdr(sgemm, &info) && info.dli_fname ? info.dli_fname : "libblas.so.3";
	if (realpath(path.c_str(), real))
		path = real;
	if (path.find("/blas/") != std::string::npos)
		name = "reference BLAS (" + path + ")";
	else
		name = path;
	return name.c_str();
}

int tch_blas_reserve(int callers)
{
	TRY(-1, {
		void *h = blas_handle();
		auto alloc = h ? (void *(*)(int))dlsym(h, "blas_memory_alloc") : nullptr;
		auto release = h ? (void (*)(void *))dlsym(h, "blas_memory_free") : nullptr;
		if (!alloc || !release)
			return 0;
		// Under an address-space limit (ulimit -v) a reservation that does
		// not fit would itself retry forever: take only what fits, each
		// buffer being 128 MiB of address space (BUFFER_SIZE on x86-64) and
		// a page, with 32 MiB to spare.
		const double buffer = 129.0 * 1048576.0, spare = 32.0 * 1048576.0;
		struct rlimit rl;
		if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
			long pages = 0;
			FILE *f = fopen("/proc/self/statm", "re");
			if (!f || fscanf(f, "%ld", &pages) != 1)
				pages = 0;
			if (f)
				fclose(f);
			double left = (double)rl.rlim_cur - (double)pages * (double)sysconf(_SC_PAGESIZE) - spare;
			int fit = left > 0 ? (int)(left / buffer) : 0;
			if (fit < 1) {
				last_error = "the address-space limit (ulimit -v) leaves no room for OpenBLAS's work buffer";
				return -1;
			}
			if (callers > fit)
				callers = fit;
		}
		std::vector<void *> got;
		for (int i = 0; i < callers; i++)
			got.push_back(alloc(0));
		for (void *p : got)
			release(p);
		return 1;
	})
}

int tch_set_threads(int n)
{
	TRY(-1, {
		if (n < 1)
			throw std::invalid_argument("thread count must be at least 1");
		at::set_num_threads(n);
		// Each thread of the pool sets itself up (and may start threads of
		// its own) the first time it runs an operator: have that happen now,
		// not in the middle of a forward pass short of memory, where a
		// thread that cannot start hangs the pool.
		// (An operator that libtorch parallelises itself: this file is not
		// built with OpenMP, so at::parallel_for here would run serially.)
		{
			c10::InferenceMode guard;
			(void)at::ones({(int64_t)n * 64, 4096}).sum({1});
		}
		return 0;
	})
}

int tch_set_optimize(int on)
{
	TRY(-1, {
		torch::jit::setGraphExecutorOptimize(on != 0);
		return 0;
	})
}

int tch_get_threads(void) { TRY(-1, { return at::get_num_threads(); }) }

#ifdef TCH_CUDA
// The CUDA caching allocator sizes its per-device tables when CUDA is first
// initialised (by the first tensor put on a device); its statistics, limit
// and cache calls index them unchecked before that.  Every such call comes
// through here first.  2.6 replaced lazyInitCUDA() by lazyInitDevice().
static void cuda_init(int dev)
{
	int n = (int)c10::cuda::device_count();
	if (dev < 0 || dev >= n)
		throw std::out_of_range("no CUDA device " + std::to_string(dev) + " (" + std::to_string(n) +
		                        " present)");
#if TCH_AT_LEAST(2, 6)
	at::globalContext().lazyInitDevice(c10::DeviceType::CUDA);
#else
	at::globalContext().lazyInitCUDA();
#endif
}
#endif

int tch_cuda_device_count(void) { TRY(0, { return (int)torch::cuda::device_count(); }) }

int tch_cuda_compiled(void)
{
#ifdef TCH_CUDA
	return 1;
#else
	return 0;
#endif
}

int tch_cuda_vram(int dev, struct tch_vram *out)
{
#ifdef TCH_CUDA
	TRY(-1, {
		// Index 0 of each stat array is the aggregate over pool types in
		// both 1.13 (StatType::AGGREGATE) and 2.x.
		cuda_init(dev);
		auto st = c10::cuda::CUDACachingAllocator::getDeviceStats(dev);
		out->allocated = st.allocated_bytes[0].current;
		out->reserved = st.reserved_bytes[0].current;
		out->peak_allocated = st.allocated_bytes[0].peak;
		out->peak_reserved = st.reserved_bytes[0].peak;
		return 0;
	})
#else
	out->allocated = out->reserved = out->peak_allocated = out->peak_reserved = -1;
	last_error = "not built with CUDA";
	return -1;
#endif
}

int tch_cuda_reset_peaks(int dev)
{
#ifdef TCH_CUDA
	TRY(-1, {
		cuda_init(dev);
		c10::cuda::CUDACachingAllocator::resetPeakStats(dev);
		return 0;
	})
#else
	last_error = "not built with CUDA";
	return -1;
#endif
}

int tch_cuda_empty_cache(void)
{
#ifdef TCH_CUDA
	TRY(-1, {
		cuda_init(0);
		c10::cuda::CUDACachingAllocator::emptyCache();
		return 0;
	})
#else
	return 0;
#endif
}

int tch_cuda_set_limit(int dev, int64_t bytes)
{
#ifdef TCH_CUDA
	TRY(-1, {
		int64_t free_b = 0, total_b = 0;
		if (tch_cuda_mem_info(dev, &free_b, &total_b) < 0)
			return -1;
		if (bytes <= 0)
			throw std::invalid_argument("the limit must be positive");
		// The allocator refuses any allocation that would take what it
		// reserves on dev past fraction x total: raised as an out-of-memory
		// error, which tinfer handles as one (halve the batch, retry).
		double frac = (double)bytes / (double)total_b;
		c10::cuda::CUDACachingAllocator::setMemoryFraction(frac > 1.0 ? 1.0 : frac, dev);
		return 0;
	})
#else
	last_error = "not built with CUDA";
	return -1;
#endif
}

int tch_cuda_mem_info(int dev, int64_t *free_bytes, int64_t *total_bytes)
{
#ifdef TCH_CUDA
	TRY(-1, {
		size_t f = 0, t = 0;
		cuda_init(dev);
		c10::cuda::CUDAGuard guard((c10::DeviceIndex)dev);
		cudaError_t e = cudaMemGetInfo(&f, &t);
		if (e != cudaSuccess || t == 0)
			throw std::runtime_error(std::string("cannot read the device's memory size: ") +
			                         cudaGetErrorString(e));
		*free_bytes = (int64_t)f;
		*total_bytes = (int64_t)t;
		return 0;
	})
#else
	last_error = "not built with CUDA";
	return -1;
#endif
}

int tch_error_is_oom(const char *err)
{
	return err && (strstr(err, "out of memory") || strstr(err, "can't allocate memory") ||
	               strstr(err, "not enough memory") || strstr(err, "std::bad_alloc") ||
	               strstr(err, "bad_alloc"));
}

int tch_error_is_dtype_missing(const char *err)
{
	return err && strstr(err, "not implemented for") &&
	       (strstr(err, "'Half'") || strstr(err, "'BFloat16'"));
}

// libtorch 2.x's oneDNN (3.x) blocks its channels-last convolutions by the
// per-core cache sizes CPUID reports (leaf 4 on Intel, 0x8000001D on AMD).
// Some VMs zero both leaves; oneDNN 3.7 then computes wrong 1x1 convolutions
// (errors of whole units at batch >= 2) and can die of SIGFPE.  There, ATen's
// own convolutions are used instead; 1.13's oneDNN 2.x is not affected.
static void avoid_onednn_without_cache_sizes()
{
#if TCH_AT_LEAST(2, 0) && (defined(__x86_64__) || defined(__i386__))
	static bool done = false;
	unsigned a = 0, b = 0, c = 0, d = 0;
	bool known = false;
	if (done)
		return;
	done = true;
	if (__get_cpuid_count(4, 0, &a, &b, &c, &d) && (a & 0x1f))
		known = true;
	if (__get_cpuid_count(0x8000001d, 0, &a, &b, &c, &d) && (a & 0x1f))
		known = true;
	if (!known)
		at::globalContext().setUserEnabledMkldnn(false);
#endif
}

// Casts the floating-point parameters and buffers of m (and its submodules)
// to dt, one tensor at a time, so that at most one tensor exists twice;
// integer and bool tensors (index buffers, masks, step counters) keep their
// type, unlike torch::jit::Module::to(dtype), which casts every tensor.
static void cast_floating(torch::jit::Module &m, c10::ScalarType dt)
{
	torch::NoGradGuard no_grad;
	std::unordered_set<c10::TensorImpl *> seen;
	auto cast = [&](at::Tensor t) {
		if (!t.defined() || !t.is_floating_point() || t.scalar_type() == dt ||
		    !seen.insert(t.unsafeGetTensorImpl()).second)
			return;
		t.set_data(t.to(dt));
	};
	for (at::Tensor t : m.parameters())
		cast(t);
	for (at::Tensor t : m.buffers())
		cast(t);
}

// Loads path onto dev with its floating-point parameters and buffers in
// precision dt.  fp32 loads map every storage straight onto dev.  Another
// precision loads to host memory and converts there, from the file's own
// weights: on CUDA the fp32 weights never reach the device (which would
// double the load peak there).  The converted module is then written to
// memory and read back onto dev, so that everything the file holds besides
// parameters and buffers (tensor constants of traced code, plain tensor
// attributes) reaches dev as it would with a direct load.
static torch::jit::Module load_as(const std::string &path, c10::Device dev, c10::ScalarType dt)
{
	if (dt == at::kFloat)
		return torch::jit::load(path, dev);
	torch::jit::Module m = torch::jit::load(path, c10::Device(c10::DeviceType::CPU));
	cast_floating(m, dt);
	if (dev.is_cpu())
		return m;
	std::stringstream blob;
	m.save(blob);
	m = torch::jit::Module(); /* the host copy goes before the device copy comes */
	return torch::jit::load(blob, dev);
}

tch_module *tch_module_load(const char *path, const char *device, int dtype)
{
	TRY(nullptr, {
		avoid_onednn_without_cache_sizes();
		c10::Device dev(device);
		torch::jit::Module m = load_as(path, dev, to_scalar(dtype));
		m.eval();
		return new tch_module(std::move(m), dev, path);
	})
}

void tch_module_free(tch_module *m) { delete m; }

int tch_module_to_dtype(tch_module *m, int dtype)
{
	TRY(-1, {
		// From the file's weights, not from the precision that failed:
		// fp32 -> bf16 once, never fp32 -> fp16 -> bf16.  The module in the
		// failed precision goes first, so that the peak is no higher than
		// the first load's; should the file no longer load, the module is
		// left empty and every call of it fails with a message.
		m->usable = false;
		m->m = torch::jit::Module();
		m->m = load_as(m->path, m->device, to_scalar(dtype));
		m->m.eval();
		m->usable = true;
		return 0;
	})
}

int64_t tch_module_bytes(tch_module *m)
{
	TRY(-1, {
		std::unordered_set<const void *> seen;
		int64_t n = 0;
		auto add = [&](const at::Tensor &t) {
			if (t.defined() && seen.insert(t.storage().unsafeGetStorageImpl()).second)
				n += (int64_t)t.storage().nbytes();
		};
		for (const at::Tensor &t : m->get().parameters())
			add(t);
		for (const at::Tensor &t : m->get().buffers())
			add(t);
		return n;
	})
}

int tch_module_has_method(tch_module *m, const char *name)
{
	TRY(-1, { return m->get().find_method(name).has_value() ? 1 : 0; })
}

// A libtorch warning handler that drops them: the check of an optimised
// module runs it once on a batch, and what libtorch says about a candidate
// it then drops (1.13's optimize_for_inference on MobileNetV3 warns "An
// output with one or more elements was resized" for every block) is not
// for the user; tinfer says in one line what it did.  2.0 made Warning a
// class and moved the handler functions to WarningUtils.
#if TCH_AT_LEAST(2, 0)
struct quiet_warnings : c10::WarningHandler {
	void process(const c10::Warning &) override {}
};
using warning_guard = c10::WarningUtils::WarningHandlerGuard;
#else
struct quiet_warnings : c10::WarningHandler {
	void process(const c10::SourceLocation &, const std::string &, const bool) override {}
};
using warning_guard = c10::Warning::WarningHandlerGuard;
#endif

// The graph executor's optimisation switch on for as long as it lives:
// freezing with it off (tinfer's setting on the CPU) leaves calls to
// submodules' methods in the frozen graph whose methods freezing removed
// ("Couldn't find method: '_conv_forward'" on the first call, 1.13).
struct executor_optimize_on {
	bool was;
	executor_optimize_on() : was(torch::jit::getGraphExecutorOptimize()) { torch::jit::setGraphExecutorOptimize(true); }
	~executor_optimize_on() { torch::jit::setGraphExecutorOptimize(was); }
};

// Convolution nodes in block b and the blocks nested in it (if, loop).
static int convolutions(const torch::jit::Block *b)
{
	int n = 0;
	for (const torch::jit::Node *node : b->nodes()) {
		const char *k = node->kind().toQualString();
		if (!strncmp(k, "aten::conv", 10) || !strcmp(k, "aten::_convolution"))
			n++;
		for (const torch::jit::Block *sub : node->blocks())
			n += convolutions(sub);
	}
	return n;
}

int tch_module_convolutions(tch_module *m)
{
	TRY(-1, {
		int n = 0;
		for (const torch::jit::Module &sub : m->m.modules())
			for (const torch::jit::Method &meth : sub.get_methods())
				n += convolutions(meth.graph()->block());
		return n;
	})
}

tch_module *tch_module_optimized(tch_module *m, int level)
{
	TRY(nullptr, {
		if (level < 1 || level > 2)
			throw std::invalid_argument("optimisation level must be 1 or 2");
		executor_optimize_on on;
		// freeze() works on a clone: m keeps its own types and weights.
		torch::jit::Module f = torch::jit::freeze(m->get());
		if (level == 2)
			f = torch::jit::optimize_for_inference(f);
		tch_module *opt = new tch_module(std::move(f), m->device, m->path);
		opt->quiet_once = true;
		return opt;
	})
}


tch_value *tch_module_call(tch_module *m, const char *method, tch_value *const *args, int nargs,
                           int autocast)
{
	TRY(nullptr, {
		c10::InferenceMode guard;
		autocast_guard ac(autocast != 0, m->device);
		quiet_warnings quiet;
		std::unique_ptr<warning_guard> hush(m->quiet_once ? new warning_guard(&quiet) : nullptr);
		m->quiet_once = false;
		std::vector<c10::IValue> in;
		in.reserve(nargs);
		for (int i = 0; i < nargs; i++)
			in.push_back(args[i]->v);
		auto meth = m->get().find_method(method);
		if (!meth)
			throw std::invalid_argument(std::string("the model has no method '") + method + "'");
		c10::IValue out = (*meth)(std::move(in));
		return new tch_value(std::move(out));
	})
}

tch_value *tch_tensor_from(const void *data, int src, const int64_t *shape, int ndim, int dtype,
                           const char *device, int channels_last)
{
	TRY(nullptr, {
		c10::InferenceMode guard;
		std::vector<int64_t> sz(shape, shape + ndim);
		at::Tensor t = torch::from_blob(const_cast<void *>(data), sz,
		                                at::TensorOptions().dtype(to_scalar(src)));
		c10::Device dev(device);
		if (dev.is_cuda()) {
			// Pinned staging copy, then an asynchronous upload.
			t = t.to(to_scalar(dtype)).pin_memory().to(dev, /*non_blocking=*/true);
		} else {
			t = t.to(to_scalar(dtype), /*non_blocking=*/false, /*copy=*/true);
		}
		if (channels_last && ndim == 4)
			t = t.contiguous(at::MemoryFormat::ChannelsLast);
		return new tch_value(c10::IValue(std::move(t)));
	})
}

void tch_value_free(tch_value *v) { delete v; }

// Accumulates tch_value_max_diff over a and b, recursively.
static void max_diff(const c10::IValue &a, const c10::IValue &b, double &diff, double &ref)
{
	if (a.isTensor() && b.isTensor()) {
		at::Tensor x = a.toTensor().to(at::kCPU).to(at::kDouble), y = b.toTensor().to(at::kCPU).to(at::kDouble);
		if (x.sizes() != y.sizes())
			throw std::invalid_argument("a tensor's shape differs");
		if (!x.numel())
			return;
		// Equal values (infinities of one sign included) are 0 apart; a NaN
		// against a number, or infinities that differ, are infinitely apart.
		at::Tensor same = x.eq(y).logical_or(x.isnan().logical_and(y.isnan()));
		at::Tensor d = at::where(same, at::zeros_like(x), (x - y).abs().nan_to_num(INFINITY, INFINITY, INFINITY));
		diff = std::max(diff, d.max().item<double>());
		at::Tensor fin = x.isfinite();
		if (fin.any().item<bool>())
			ref = std::max(ref, x.masked_select(fin).abs().max().item<double>());
		return;
	}
	if (a.isTuple() && b.isTuple()) {
		auto &ea = a.toTupleRef().elements(), &eb = b.toTupleRef().elements();
		if (ea.size() != eb.size())
			throw std::invalid_argument("a tuple's length differs");
		for (size_t i = 0; i < ea.size(); i++)
			max_diff(ea[i], eb[i], diff, ref);
		return;
	}
	if (a.isList() && b.isList()) {
		auto la = a.toList(), lb = b.toList();
		if (la.size() != lb.size())
			throw std::invalid_argument("a list's length differs");
		for (size_t i = 0; i < la.size(); i++)
			max_diff(la.get(i), lb.get(i), diff, ref);
		return;
	}
	if (a.isGenericDict() && b.isGenericDict()) {
		auto da = a.toGenericDict(), db = b.toGenericDict();
		if (da.size() != db.size())
			throw std::invalid_argument("a dict's size differs");
		for (auto ia = da.begin(), ib = db.begin(); ia != da.end(); ++ia, ++ib) {
			if (!(ia->key() == ib->key()))
				throw std::invalid_argument("a dict's keys differ");
			max_diff(ia->value(), ib->value(), diff, ref);
		}
		return;
	}
	if ((a.isInt() || a.isDouble() || a.isBool()) && (b.isInt() || b.isDouble() || b.isBool())) {
		double x = a.isInt() ? (double)a.toInt() : a.isDouble() ? a.toDouble() : a.toBool();
		double y = b.isInt() ? (double)b.toInt() : b.isDouble() ? b.toDouble() : b.toBool();
		if (x != y && !(std::isnan(x) && std::isnan(y)))
			diff = std::max(diff, std::isfinite(x - y) ? std::fabs(x - y) : INFINITY);
		if (std::isfinite(x))
			ref = std::max(ref, std::fabs(x));
		return;
	}
	if (a.isNone() && b.isNone())
		return;
	if (a.isString() && b.isString() && a.toStringRef() == b.toStringRef())
		return;
	throw std::invalid_argument(std::string("outputs of different kinds (") + a.tagKind() + ", " + b.tagKind() + ")");
}

int tch_value_max_diff(const tch_value *a, const tch_value *b, double *diff, double *ref)
{
	TRY(-1, {
		c10::InferenceMode guard;
		double d = 0.0, r = 0.0;
		max_diff(a->v, b->v, d, r);
		*diff = d;
		*ref = r;
		return 0;
	})
}

int tch_value_kind(const tch_value *v)
{
	const c10::IValue &x = v->v;
	if (x.isNone()) return TCH_NONE;
	if (x.isTensor()) return TCH_TENSOR;
	if (x.isTuple()) return TCH_TUPLE;
	if (x.isList()) return TCH_LIST;
	if (x.isGenericDict()) return TCH_DICT;
	if (x.isInt()) return TCH_INT;
	if (x.isDouble()) return TCH_DOUBLE;
	if (x.isBool()) return TCH_BOOLV;
	if (x.isString()) return TCH_STRING;
	return TCH_UNKNOWN;
}

int tch_value_len(const tch_value *v)
{
	TRY(-1, {
		const c10::IValue &x = v->v;
		if (x.isTuple()) return (int)x.toTupleRef().elements().size();
		if (x.isList()) return (int)x.toList().size();
		if (x.isGenericDict()) return (int)x.toGenericDict().size();
		throw std::invalid_argument("value is not a tuple, list or dict");
	})
}

tch_value *tch_value_item(const tch_value *v, int i)
{
	TRY(nullptr, {
		const c10::IValue &x = v->v;
		int n = tch_value_len(v);
		if (i < 0 || i >= n)
			throw std::out_of_range("index out of range");
		if (x.isTuple()) return new tch_value(x.toTupleRef().elements()[i]);
		if (x.isList()) return new tch_value(x.toList().get(i));
		auto d = x.toGenericDict();
		auto it = d.begin();
		for (int k = 0; k < i; k++) ++it;
		return new tch_value(it->value());
	})
}

int tch_value_key(const tch_value *v, int i, char *buf, size_t len)
{
	TRY(-1, {
		if (!v->v.isGenericDict())
			throw std::invalid_argument("value is not a dict");
		auto d = v->v.toGenericDict();
		if (i < 0 || (size_t)i >= d.size())
			throw std::out_of_range("index out of range");
		auto it = d.begin();
		for (int k = 0; k < i; k++) ++it;
		const c10::IValue &key = it->key();
		std::string s = key.isString() ? key.toStringRef()
		              : key.isInt()    ? std::to_string(key.toInt())
		                               : std::string("?");
		snprintf(buf, len, "%s", s.c_str());
		return 0;
	})
}

int tch_value_scalar(const tch_value *v, double *out)
{
	TRY(-1, {
		const c10::IValue &x = v->v;
		if (x.isInt()) *out = (double)x.toInt();
		else if (x.isDouble()) *out = x.toDouble();
		else if (x.isBool()) *out = x.toBool() ? 1.0 : 0.0;
		else throw std::invalid_argument("value is not a number");
		return 0;
	})
}


int tch_tensor_shape(const tch_value *v, int64_t *shape, int ndim_max)
{
	TRY(-1, {
		const at::Tensor &t = v->v.toTensor();
		int nd = (int)t.dim();
		for (int i = 0; i < nd && i < ndim_max; i++)
			shape[i] = t.size(i);
		return nd;
	})
}

int tch_tensor_dtype(const tch_value *v)
{
	TRY(-1, { return from_scalar(v->v.toTensor().scalar_type()); })
}

int tch_tensor_copy(const tch_value *v, int dtype, void *out, size_t cap)
{
	TRY(-1, {
		c10::InferenceMode guard;
		at::Tensor t = v->v.toTensor().to(at::kCPU).to(to_scalar(dtype)).contiguous();
		size_t bytes = (size_t)t.numel() * t.element_size();
		if (bytes > cap)
			throw std::length_error("output buffer too small");
		if (bytes)
			memcpy(out, t.data_ptr(), bytes);
		return 0;
	})
}


} // extern "C"
