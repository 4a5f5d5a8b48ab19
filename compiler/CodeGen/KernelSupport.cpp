//===- KernelSupport.cpp - target SIMD facts, activations, epilogues --------===//
#include "CodeGen/Lowering.h"

#include "llvm/IR/Constants.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace llvm;

namespace cnnc::codegen {

namespace {
/// The contents of a small sysfs file, trimmed, or "".
std::string readSysFile(const std::string &path) {
  auto buf = MemoryBuffer::getFileAsStream(path);
  if (!buf)
    return "";
  return (*buf)->getBuffer().trim().str();
}

/// CPUs in a sysfs list such as "0-3,8,10-11".
int64_t countCpuList(StringRef list) {
  int64_t n = 0;
  SmallVector<StringRef, 8> parts;
  list.split(parts, ',', -1, false);
  for (StringRef part : parts) {
    auto [lo, hi] = part.split('-');
    unsigned a = 0, b = 0;
    if (lo.trim().getAsInteger(10, a))
      return 0;
    if (hi.empty())
      b = a;
    else if (hi.trim().getAsInteger(10, b) || b < a)
      return 0;
    n += int64_t(b) - a + 1;
  }
  return n;
}

/// This machine's per-core data cache sizes from Linux's sysfs (cpu0's
/// cache/index*: level, type, size such as "48K", shared_cpu_list); a shared
/// cache counts as its size over the CPUs sharing it. Levels it cannot read
/// keep the defaults in `t`.
void readHostCaches(VectorTarget &t) {
  for (int i = 0; i < 8; ++i) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string level = readSysFile(dir + "level"), type = readSysFile(dir + "type");
    if (level.empty())
      break;
    if (type != "Data" && type != "Unified")
      continue;
    std::string sizeText = readSysFile(dir + "size");
    StringRef size = sizeText;
    int64_t mult = 1;
    if (size.consume_back("K"))
      mult = 1024;
    else if (size.consume_back("M"))
      mult = 1024 * 1024;
    unsigned long long v = 0;
    if (size.getAsInteger(10, v) || v == 0)
      continue;
    int64_t sharing = std::max<int64_t>(1, countCpuList(readSysFile(dir + "shared_cpu_list")));
    double bytes = double(v) * mult / double(sharing);
    if (level == "1")
      t.l1Bytes = bytes;
    else if (level == "2")
      t.l2Bytes = bytes;
    else if (level == "3")
      t.l3Bytes = bytes;
  }
}
} // namespace

VectorTarget vectorTargetOf(const TargetMachine &tm) {
  VectorTarget t;
  // Code for this machine's CPU gets this machine's caches (the tile and
  // blocking choices then fit them); CNNC_DEFAULT_CACHES=1 keeps the
  // defaults, so that experiments can compare.
  const char *defaults = getenv("CNNC_DEFAULT_CACHES");
  if (tm.getTargetCPU() == sys::getHostCPUName() &&
      tm.getTargetTriple().getArch() == Triple(sys::getProcessTriple()).getArch() &&
      !(defaults && *defaults == '1'))
    readHostCaches(t);
  const MCSubtargetInfo *sti = tm.getMCSubtargetInfo();
  if (!sti || !tm.getTargetTriple().isX86())
    return t;
  if (sti->checkFeatures("+avx512f")) {
    t.width = 16;
    t.numRegs = 32;
    t.hasFMA = true;
  } else if (sti->checkFeatures("+avx2") || sti->checkFeatures("+avx")) {
    t.width = 8;
    t.numRegs = 16;
    t.hasFMA = sti->checkFeatures("+fma");
  } else {
    t.width = 4;
    t.numRegs = 16;
    t.hasFMA = false;
  }
  return t;
}

bool envTile2(const char *name, int64_t &a, int64_t &b) {
  const char *e = getenv(name);
  long x, y;
  if (!e || sscanf(e, "%ld,%ld", &x, &y) != 2 || x <= 0 || y <= 0)
    return false;
  a = x;
  b = y;
  return true;
}

VectorTarget withModelWeights(VectorTarget t, const ir::Graph &g) {
  // The weights as packed: a conv the Winograd kernel would take while its
  // weights stay cached (modelWeightBytes 0) holds 36 floats per 3x3 (9)
  // or 5x5 (25) filter.
  VectorTarget cached = t;
  cached.modelWeightBytes = 0;
  double bytes = 0;
  for (const auto &n : g.nodes()) {
    for (const ir::Param &p : n->params)
      bytes += double(ir::numElements(p.shape)) * 4;
    const ir::Param *w = n->param("weight");
    if (w && n->kind == ir::OpKind::Conv2d && w->shape.size() == 4 &&
        winogradChosen(*n, cached))
      bytes += (36.0 / double(w->shape[2] * w->shape[3]) - 1) *
               double(ir::numElements(w->shape)) * 4;
  }
  t.modelWeightBytes = bytes;
  return t;
}

Value *emitActivation(IRBuilder<> &b, Module &m, ir::OpKind kind,
                      double alpha, double beta, Value *x) {
  Type *ty = x->getType();
  auto c = [&](double v) { return ConstantFP::get(ty, v); };
  // x < lo ? lo : (x > hi ? hi : x): a NaN x stays NaN, like torch.clamp.
  auto clamp = [&](Value *v, double lo, double hi) {
    Value *r = b.CreateSelect(b.CreateFCmpOGT(v, c(hi)), c(hi), v);
    return b.CreateSelect(b.CreateFCmpOLT(v, c(lo)), c(lo), r);
  };
  auto sigmoid = [&](Value *v) {
    Value *e = b.CreateUnaryIntrinsic(Intrinsic::exp, b.CreateFNeg(v));
    return b.CreateFDiv(c(1.0), b.CreateFAdd(c(1.0), e));
  };
  switch (kind) {
  case ir::OpKind::Relu:
    return b.CreateSelect(b.CreateFCmpOLT(x, c(0.0)), c(0.0), x);
  case ir::OpKind::Relu6:
    return clamp(x, 0.0, 6.0);
  case ir::OpKind::Hardtanh:
    return clamp(x, alpha, beta);
  case ir::OpKind::LeakyRelu:
    return b.CreateSelect(b.CreateFCmpOGT(x, c(0.0)), x,
                          b.CreateFMul(x, c(alpha)));
  case ir::OpKind::Elu: {
    Value *e = b.CreateUnaryIntrinsic(Intrinsic::exp, x);
    Value *neg = b.CreateFMul(c(alpha), b.CreateFSub(e, c(1.0)));
    return b.CreateSelect(b.CreateFCmpOGT(x, c(0.0)), x, neg);
  }
  case ir::OpKind::Sigmoid:
    return sigmoid(x);
  case ir::OpKind::Silu:
    return b.CreateFMul(x, sigmoid(x));
  case ir::OpKind::Hardswish:
    return b.CreateFDiv(b.CreateFMul(x, clamp(b.CreateFAdd(x, c(3.0)), 0.0, 6.0)),
                        c(6.0));
  case ir::OpKind::Tanh: {
    // libm's tanhf, lane by lane for a vector.
    Type *f32 = b.getFloatTy();
    FunctionCallee tanhF = m.getOrInsertFunction("tanhf", f32, f32);
    if (auto *fn = dyn_cast<Function>(tanhF.getCallee())) {
      fn->setDoesNotThrow();
      fn->setDoesNotAccessMemory();
      fn->setWillReturn();
    }
    auto call = [&](Value *v) {
      CallInst *ci = b.CreateCall(tanhF, {v});
      ci->setDoesNotThrow();
      ci->setDoesNotAccessMemory();
      return ci;
    };
    auto *vt = dyn_cast<FixedVectorType>(ty);
    if (!vt)
      return call(x);
    Value *r = PoisonValue::get(vt);
    for (unsigned l = 0; l < vt->getNumElements(); ++l)
      r = b.CreateInsertElement(r, call(b.CreateExtractElement(x, l)), l);
    return r;
  }
  default:
    return x;
  }
}

Constant *laneMask(LLVMContext &ctx, int64_t vl, int64_t lo, int64_t hi) {
  if (lo <= 0 && hi >= vl)
    return nullptr;
  std::vector<Constant *> m;
  for (int64_t l = 0; l < vl; ++l)
    m.push_back(ConstantInt::getBool(ctx, l >= lo && l < hi));
  return ConstantVector::get(m);
}

Value *emitEpilogue(Kernel &k, Value *v, ArrayRef<Value *> operandPtrs,
                    Value *idx, Constant *mask) {
  IRBuilder<> &b = k.b;
  const bool reluToPool = reluFeedsMaxPool(k);
  for (const ir::EpilogueStep &st : k.node.epilogue) {
    if (ir::isPooling(st.kind)) // applied by the conv kernel (ConvPool.cpp)
      continue;
    if (st.kind == ir::OpKind::Relu && reluToPool && &st == &k.node.epilogue.end()[-2]) {
      // x <= 0 ? +0 : x: no -0 for the pooling's unsigned max.
      Constant *zero = ConstantFP::get(v->getType(), 0.0);
      v = b.CreateSelect(b.CreateFCmpOLE(v, zero), zero, v);
      continue;
    }
    if (st.kind != ir::OpKind::Add) {
      v = emitActivation(b, k.m, st.kind, st.alpha, st.beta, v);
      continue;
    }
    Value *p = b.CreateInBoundsGEP(b.getFloatTy(), operandPtrs[st.operand], idx);
    Type *ty = v->getType();
    Value *r;
    if (mask)
      r = b.CreateMaskedLoad(ty, p, Align(4), mask, ConstantFP::get(ty, 0.0));
    else
      r = b.CreateAlignedLoad(ty, p, Align(4));
    v = b.CreateFAdd(v, r);
  }
  return v;
}

void emitOuterProductFma(IRBuilder<> &b, Function *fmuladd, int64_t rk, int64_t rw,
                         function_ref<Value *(int64_t)> x, function_ref<Value *(int64_t)> w,
                         std::vector<Value *> &acc) {
  if (rk <= rw) {
    std::vector<Value *> wv;
    for (int64_t kk = 0; kk < rk; ++kk)
      wv.push_back(w(kk));
    for (int64_t j = 0; j < rw; ++j) {
      Value *xv = x(j);
      if (!xv)
        continue;
      for (int64_t kk = 0; kk < rk; ++kk)
        acc[kk * rw + j] = b.CreateCall(fmuladd, {xv, wv[kk], acc[kk * rw + j]});
    }
    return;
  }
  std::vector<Value *> xv;
  for (int64_t j = 0; j < rw; ++j)
    xv.push_back(x(j));
  for (int64_t kk = 0; kk < rk; ++kk) {
    Value *wv = w(kk);
    for (int64_t j = 0; j < rw; ++j)
      if (xv[j])
        acc[kk * rw + j] = b.CreateCall(fmuladd, {xv[j], wv, acc[kk * rw + j]});
  }
}

// Every vector adds fma(v, 0, acc) to one of four chains: 0 * v is NaN
// exactly when v is a NaN or an infinity, and a NaN stays in its chain.
Value *emitAllFinite(Kernel &k, Value *x, int64_t count) {
  IRBuilder<> &b = k.b;
  const int64_t VL = k.vec.width, chains = 4;
  auto *vecTy = FixedVectorType::get(b.getFloatTy(), VL);
  Function *fma = Intrinsic::getDeclaration(&k.m, Intrinsic::fma, {vecTy});
  Value *zero = ConstantFP::get(vecTy, 0.0);
  auto step = [&](Value *acc, Value *v) { return b.CreateCall(fma, {v, zero, acc}); };
  auto vec = [&](Value *i) {
    return b.CreateAlignedLoad(vecTy, k.ptr(x, i), Align(4));
  };
  std::vector<Value *> acc(chains, zero);
  const int64_t groups = count / (VL * chains);
  if (groups > 0)
    acc = forLoopMulti(
        b, k.i64(0), k.i64(groups), acc,
        [&](Value *gi, ArrayRef<Value *> a) {
          std::vector<Value *> r;
          for (int64_t j = 0; j < chains; ++j)
            r.push_back(step(a[j], vec(k.add(k.mul(gi, VL * chains), j * VL))));
          return r;
        },
        /*knownNonEmpty=*/true);
  int64_t done = groups * VL * chains;
  for (; done + VL <= count; done += VL)
    acc[0] = step(acc[0], vec(k.i64(done)));
  Value *sum = acc[0];
  for (int64_t j = 1; j < chains; ++j)
    sum = b.CreateFAdd(sum, acc[j]);
  Value *s = b.CreateExtractElement(sum, uint64_t(0));
  for (int64_t l = 1; l < VL; ++l)
    s = b.CreateFAdd(s, b.CreateExtractElement(sum, uint64_t(l)));
  for (; done < count; ++done) // the last floats, one by one
    s = b.CreateFAdd(s, b.CreateFMul(k.load(x, k.i64(done)), k.f(0.0)));
  return b.CreateFCmpORD(s, s);
}

Value *emitNaNCheck(Kernel &k, ArrayRef<Value *> vecs) {
  IRBuilder<> &b = k.b;
  Function *fma = Intrinsic::getDeclaration(&k.m, Intrinsic::fma, {vecs[0]->getType()});
  std::vector<Value *> terms;
  for (size_t i = 0; i < vecs.size(); i += 3) {
    size_t left = vecs.size() - i;
    terms.push_back(left >= 3   ? b.CreateCall(fma, {vecs[i], vecs[i + 1], vecs[i + 2]})
                    : left == 2 ? b.CreateFMul(vecs[i], vecs[i + 1])
                                : vecs[i]);
  }
  while (terms.size() > 1) {
    std::vector<Value *> next;
    for (size_t i = 0; i + 1 < terms.size(); i += 2)
      next.push_back(b.CreateFAdd(terms[i], terms[i + 1]));
    if (terms.size() % 2)
      next.push_back(terms.back());
    terms.swap(next);
  }
  return terms[0];
}

void emitWithNaNRetry(Kernel &k, Value *slot, function_ref<void(bool fast)> body) {
  IRBuilder<> &b = k.b;
  Type *ty = cast<AllocaInst>(slot)->getAllocatedType();
  b.CreateStore(Constant::getNullValue(ty), slot);
  body(true);
  Value *z = b.CreateLoad(ty, slot);
  ifElse(b, b.CreateOrReduce(b.CreateFCmpUNO(z, z)), [&] { body(false); }, [] {});
}

Expected<ConvParams> convParams(Kernel &k, int64_t count) {
  auto wtOr = k.tensor("weight");
  if (!wtOr)
    return wtOr.takeError();
  if (!*wtOr)
    return k.error("missing weight param");
  ConvParams p;
  p.weight = &(*wtOr)->data;
  if (int64_t(p.weight->size()) != count)
    return k.error("weight has the wrong size");
  auto bOr = k.param("bias");
  if (!bOr)
    return bOr.takeError();
  p.bias = *bOr;
  return p;
}

} // namespace cnnc::codegen
