// onednn_bench - times one layer through oneDNN's C++ API directly.
//
// The third anchor of bench/run_bench.py (next to PyTorch and the FMA peak):
// what the library PyTorch uses can do for exactly one layer when nothing
// else is in the way. Memory formats are `any` wherever oneDNN allows it, so
// it picks its own blocked layouts; inputs and weights are reordered into
// them once, outside the timed loop. Batch 1, fp32, forward_inference.
//
//   onednn_bench conv   --ic 3 --ih 130 --iw 130 --oc 10 --k 3 [--stride 1] [--pad 0]
//   onednn_bench pool   --ic 64 --ih 112 --iw 112 --k 3 [--stride 2] [--pad 1] [--ceil]
//   onednn_bench linear --in 4096 --out 1000
// common options:
//   --threads N    OpenMP threads (default: OMP_NUM_THREADS / all cores)
//   --runs N       timed runs (default: as many as fit in --time-ms, at least 5)
//   --time-ms MS   time budget for the timed runs when --runs is not given (default 500)
//   --warmup N     untimed runs first (default 3)
//   --max-ms MS    stop the timed runs early once they have taken MS in total
//   --algo direct|auto|winograd   convolution algorithm (default auto: oneDNN's choice)
//   --no-bias      convolution / linear without bias
// Rectangular kernels/strides/padding: --kh/--kw, --sh/--sw, --ph/--pw.
//
// Prints one JSON object: op, median_ms, min_ms, runs, threads, macs, gflops
// (2*macs/median; 0 for pooling), impl (oneDNN's implementation name), and the
// chosen src/weights memory formats.
#include <oneapi/dnnl/dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

[[noreturn]] void usage(const char *msg) {
  std::fprintf(stderr,
               "onednn_bench: %s\n"
               "usage: onednn_bench conv|pool|linear [options] (see the header of "
               "bench/onednn_bench.cpp)\n",
               msg);
  std::exit(2);
}

struct Args {
  std::string op;
  std::map<std::string, std::string> kv;
  long get(const std::string &k, long def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::atol(it->second.c_str());
  }
  bool has(const std::string &k) const { return kv.count(k) != 0; }
  std::string str(const std::string &k, const std::string &def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
};

Args parse(int argc, char **argv) {
  if (argc < 2)
    usage("missing operation");
  Args a;
  a.op = argv[1];
  static const char *flags[] = {"--ceil", "--no-bias"};
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    if (k.rfind("--", 0) != 0)
      usage(("unexpected argument " + k).c_str());
    bool isFlag = false;
    for (const char *f : flags)
      isFlag |= k == f;
    if (isFlag) {
      a.kv[k.substr(2)] = "1";
      continue;
    }
    auto eq = k.find('=');
    if (eq != std::string::npos) {
      a.kv[k.substr(2, eq - 2)] = k.substr(eq + 1);
      continue;
    }
    if (i + 1 >= argc)
      usage(("missing value for " + k).c_str());
    a.kv[k.substr(2)] = argv[++i];
  }
  return a;
}

void fillRandom(memory &m, unsigned seed) {
  size_t n = m.get_desc().get_size() / sizeof(float);
  float *p = static_cast<float *>(m.get_data_handle());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-1, 1);
  for (size_t i = 0; i < n; ++i)
    p[i] = d(rng);
}

// A memory in the primitive's chosen format `want`, filled with random values
// written in the plain format `plain` and reordered (outside any timing).
memory prepare(engine &eng, stream &s, const memory::desc &plain, const memory::desc &want,
               unsigned seed) {
  memory user(plain, eng);
  fillRandom(user, seed);
  if (plain == want)
    return user;
  memory m(want, eng);
  reorder(user, m).execute(s, user, m);
  s.wait();
  return m;
}

// Best-effort name of a memory descriptor's layout, e.g. "nChw8c" or "blocked".
std::string formatName(const memory::desc &md) {
  const dnnl_memory_desc_t &d = md.data;
  if (d.format_kind != dnnl_blocked)
    return "other";
  std::string s;
  const auto &bd = d.format_desc.blocking;
  // Outer dims ordered by decreasing stride.
  std::vector<int> order(d.ndims);
  for (int i = 0; i < d.ndims; ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](int x, int y) { return bd.strides[x] > bd.strides[y]; });
  const char *names = d.ndims == 4 ? "abcd" : "ab";
  for (int i : order) {
    bool blocked = false;
    for (int b = 0; b < bd.inner_nblks; ++b)
      blocked |= bd.inner_idxs[b] == i;
    s += blocked ? (char)std::toupper(names[i]) : names[i];
  }
  for (int b = 0; b < bd.inner_nblks; ++b)
    s += std::to_string(bd.inner_blks[b]) + names[bd.inner_idxs[b]];
  return s;
}

} // namespace

int main(int argc, char **argv) {
  Args a = parse(argc, argv);
  if (a.has("threads"))
    omp_set_num_threads((int)a.get("threads", 1));
  int threads = omp_get_max_threads();

  engine eng(engine::kind::cpu, 0);
  stream s(eng);

  primitive prim;
  std::unordered_map<int, memory> args;
  double macs = 0;
  std::string implName, srcFmt, wFmt;
  bool bias = !a.has("no-bias");

  if (a.op == "conv" || a.op == "pool") {
    long n = a.get("n", 1), ic = a.get("ic", 0), ih = a.get("ih", 0), iw = a.get("iw", ih);
    long k = a.get("k", 0), kh = a.get("kh", k), kw = a.get("kw", k);
    long st = a.get("stride", a.op == "pool" ? kh : 1), sh = a.get("sh", st), sw = a.get("sw", st);
    long pd = a.get("pad", 0), ph = a.get("ph", pd), pw = a.get("pw", pd);
    if (ic <= 0 || ih <= 0 || iw <= 0 || kh <= 0 || kw <= 0 || sh <= 0 || sw <= 0)
      usage("need positive --ic, --ih, --k (and strides)");
    bool ceil = a.has("ceil");
    auto outDim = [&](long i, long kk, long ss, long pp) {
      long num = i + 2 * pp - kk;
      long o = (ceil ? (num + ss - 1) / ss : num / ss) + 1;
      if (ceil && (o - 1) * ss >= i + pp) // PyTorch: last window must start inside
        --o;
      return o;
    };
    long oh = outDim(ih, kh, sh, ph), ow = outDim(iw, kw, sw, pw);
    if (oh <= 0 || ow <= 0)
      usage("output would be empty");
    // Extra right/bottom padding so that oneDNN's output size matches.
    long prh = (oh - 1) * sh + kh - ih - ph, prw = (ow - 1) * sw + kw - iw - pw;
    memory::dims srcDims{n, ic, ih, iw}, strides{sh, sw}, padL{ph, pw}, padR{prh, prw};

    if (a.op == "conv") {
      long oc = a.get("oc", 0);
      if (oc <= 0)
        usage("need --oc");
      std::string algoName = a.str("algo", "auto");
      algorithm algo = algoName == "direct"     ? algorithm::convolution_direct
                       : algoName == "winograd" ? algorithm::convolution_winograd
                       : algoName == "auto"     ? algorithm::convolution_auto
                                                : (usage("bad --algo"), algorithm::undef);
      memory::desc srcAny({n, ic, ih, iw}, dt::f32, tag::any);
      memory::desc wAny({oc, ic, kh, kw}, dt::f32, tag::any);
      memory::desc bMd({oc}, dt::f32, tag::a);
      memory::desc dstAny({n, oc, oh, ow}, dt::f32, tag::any);
      auto desc = bias ? convolution_forward::desc(prop_kind::forward_inference, algo, srcAny,
                                                   wAny, bMd, dstAny, strides, padL, padR)
                       : convolution_forward::desc(prop_kind::forward_inference, algo, srcAny,
                                                   wAny, dstAny, strides, padL, padR);
      convolution_forward::primitive_desc pdesc(desc, eng);
      implName = pdesc.impl_info_str();
      srcFmt = formatName(pdesc.src_desc());
      wFmt = formatName(pdesc.weights_desc());
      args[DNNL_ARG_SRC] = prepare(eng, s, memory::desc(srcDims, dt::f32, tag::nchw),
                                   pdesc.src_desc(), 1);
      args[DNNL_ARG_WEIGHTS] = prepare(eng, s, memory::desc({oc, ic, kh, kw}, dt::f32, tag::oihw),
                                       pdesc.weights_desc(), 2);
      if (bias)
        args[DNNL_ARG_BIAS] = prepare(eng, s, bMd, pdesc.bias_desc(), 3);
      args[DNNL_ARG_DST] = memory(pdesc.dst_desc(), eng);
      prim = convolution_forward(pdesc);
      macs = (double)n * oc * oh * ow * ic * kh * kw;
    } else {
      // Pooling has no `any` source: give it the blocked layout a preceding
      // oneDNN convolution would produce for this ISA (8 or 16 channels).
      const int isa = static_cast<int>(get_effective_cpu_isa());
      const int avx512core = static_cast<int>(cpu_isa::avx512_core);
      bool avx512 = (isa & avx512core) == avx512core;
      tag blocked = avx512 ? tag::nChw16c : tag::nChw8c;
      tag srcTag = a.str("layout", "blocked") == "nchw" ? tag::nchw : blocked;
      memory::desc srcMd(srcDims, dt::f32, srcTag);
      memory::desc dstAny({n, ic, oh, ow}, dt::f32, tag::any);
      pooling_forward::desc desc(prop_kind::forward_inference, algorithm::pooling_max, srcMd,
                                 dstAny, strides, {kh, kw}, padL, padR);
      pooling_forward::primitive_desc pdesc(desc, eng);
      implName = pdesc.impl_info_str();
      srcFmt = formatName(pdesc.src_desc());
      args[DNNL_ARG_SRC] = prepare(eng, s, memory::desc(srcDims, dt::f32, tag::nchw), srcMd, 1);
      args[DNNL_ARG_DST] = memory(pdesc.dst_desc(), eng);
      if (pdesc.workspace_desc().get_size())
        args[DNNL_ARG_WORKSPACE] = memory(pdesc.workspace_desc(), eng);
      prim = pooling_forward(pdesc);
    }
  } else if (a.op == "linear") {
    long n = a.get("n", 1), in = a.get("in", 0), out = a.get("out", 0);
    if (in <= 0 || out <= 0)
      usage("need --in and --out");
    memory::desc srcAny({n, in}, dt::f32, tag::any);
    memory::desc wAny({out, in}, dt::f32, tag::any);
    memory::desc bMd({out}, dt::f32, tag::a);
    memory::desc dstAny({n, out}, dt::f32, tag::any);
    auto desc = bias ? inner_product_forward::desc(prop_kind::forward_inference, srcAny, wAny,
                                                   bMd, dstAny)
                     : inner_product_forward::desc(prop_kind::forward_inference, srcAny, wAny,
                                                   dstAny);
    inner_product_forward::primitive_desc pdesc(desc, eng);
    implName = pdesc.impl_info_str();
    srcFmt = formatName(pdesc.src_desc());
    wFmt = formatName(pdesc.weights_desc());
    args[DNNL_ARG_SRC] = prepare(eng, s, memory::desc({n, in}, dt::f32, tag::nc),
                                 pdesc.src_desc(), 1);
    args[DNNL_ARG_WEIGHTS] = prepare(eng, s, memory::desc({out, in}, dt::f32, tag::oi),
                                     pdesc.weights_desc(), 2);
    if (bias)
      args[DNNL_ARG_BIAS] = prepare(eng, s, bMd, pdesc.bias_desc(), 3);
    args[DNNL_ARG_DST] = memory(pdesc.dst_desc(), eng);
    prim = inner_product_forward(pdesc);
    macs = (double)n * in * out;
  } else {
    usage(("unknown operation '" + a.op + "'").c_str());
  }

  using clock = std::chrono::steady_clock;
  auto once = [&]() {
    auto t0 = clock::now();
    prim.execute(s, args);
    s.wait();
    return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
  };
  long warmup = a.get("warmup", 3);
  double last = 0;
  for (long i = 0; i < std::max(warmup, 1L); ++i)
    last = once();
  long runs = a.get("runs", 0);
  if (runs <= 0) {
    double budget = (double)a.get("time-ms", 500);
    runs = (long)std::clamp(budget / std::max(last, 1e-3), 5.0, 100000.0);
  }
  // --max-ms: stop early (after at least one run) once the timed runs have
  // taken this long, so a machine busy with other work cannot stretch a
  // round far past its budget.
  double maxMs = (double)a.get("max-ms", 0), total = 0;
  std::vector<double> t;
  t.reserve(runs);
  for (long i = 0; i < runs; ++i) {
    t.push_back(once());
    total += t.back();
    if (maxMs > 0 && total >= maxMs)
      break;
  }
  runs = (long)t.size();
  std::sort(t.begin(), t.end());
  double median = t.size() % 2 ? t[t.size() / 2] : 0.5 * (t[t.size() / 2 - 1] + t[t.size() / 2]);
  double gflops = macs ? 2 * macs / (median * 1e-3) / 1e9 : 0;
  const dnnl_version_t *v = dnnl_version();
  std::printf("{\"op\": \"%s\", \"median_ms\": %.6f, \"min_ms\": %.6f, \"runs\": %ld, "
              "\"threads\": %d, \"macs\": %.0f, \"gflops\": %.4f, \"impl\": \"%s\", "
              "\"src_format\": \"%s\", \"weights_format\": \"%s\", \"dnnl_version\": "
              "\"%d.%d.%d\"}\n",
              a.op.c_str(), median, t.front(), runs, threads, macs, gflops, implName.c_str(),
              srcFmt.c_str(), wFmt.c_str(), v->major, v->minor, v->patch);
  return 0;
}
