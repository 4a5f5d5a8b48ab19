//===- MemoryPlan.cpp - liveness-based buffer assignment ------------------===//
#include "IR/MemoryPlan.h"

#include <algorithm>
#include <functional>

namespace cnnc::ir {

bool isView(OpKind k) {
  return k == OpKind::Reshape || k == OpKind::Dropout || k == OpKind::Identity;
}

const MemoryPlan::Buffer *MemoryPlan::bufferOf(const Node *n) const {
  auto it = bufferIndex.find(n);
  return it == bufferIndex.end() ? nullptr : &buffers[it->second];
}

namespace {

int64_t aligned(int64_t bytes) { return (bytes + kBufferAlign - 1) / kBufferAlign * kBufferAlign; }

bool elementwise(OpKind k) {
  return isActivation(k) || k == OpKind::Add || k == OpKind::Mul || k == OpKind::BatchNorm2d;
}

/// Values that share bytes: a group has one leader (whose value sizes it)
/// and members at byte offsets inside it.
struct Groups {
  std::unordered_map<const Node *, const Node *> leader;
  std::unordered_map<const Node *, int64_t> offset;
  std::unordered_map<const Node *, std::vector<const Node *>> members;
  void put(const Node *n, const Node *l, int64_t off) {
    leader[n] = l;
    offset[n] = off;
    members[l].push_back(n);
  }
};

} // namespace

MemoryPlan planMemory(const Graph &g, llvm::function_ref<int64_t(const Node &)> scratchBytes) {
  MemoryPlan p;
  if (!g.input() || !g.output())
    return p;
  std::vector<const Node *> work{g.output()};
  while (!work.empty()) {
    const Node *n = work.back();
    work.pop_back();
    if (!p.live.insert(n).second)
      continue;
    for (const Node *op : n->operands)
      work.push_back(op);
  }
  p.live.insert(g.input());

  // Users among the live nodes, by position.
  std::unordered_map<const Node *, std::vector<const Node *>> users;
  for (const auto &np : g.nodes())
    if (p.live.count(np.get()))
      for (const Node *op : np->operands)
        users[op].push_back(np.get());

  // Slices of in-place concats: producer -> (concat, byte offset).
  std::unordered_map<const Node *, std::pair<const Node *, int64_t>> slice;
  for (const auto &np : g.nodes())
    if (np->kind == OpKind::Concat && np->attrs.inPlace && p.live.count(np.get())) {
      int64_t off = 0;
      for (const Node *op : np->operands) {
        slice[op] = {np.get(), off};
        off += numElements(op->shape) * 4;
      }
    }
  std::function<std::pair<const Node *, int64_t>(const Node *)> sliceRoot =
      [&](const Node *n) -> std::pair<const Node *, int64_t> {
    auto it = slice.find(n);
    if (it == slice.end())
      return {n, 0};
    auto r = sliceRoot(it->second.first);
    return {r.first, r.second + it->second.second};
  };

  Groups gr;
  auto lastRead = [&](const Node *leader) {
    unsigned last = 0;
    for (const Node *m : gr.members[leader]) {
      last = std::max(last, m->id);
      for (const Node *u : users[m])
        last = std::max(last, u->id);
    }
    return last;
  };
  const Node *inputLeader = g.input();
  for (const auto &np : g.nodes()) {
    const Node *n = np.get();
    if (!p.live.count(n))
      continue;
    if (n == g.input()) {
      gr.put(n, n, 0);
      continue;
    }
    if (isView(n->kind) && n->operands.size() == 1) {
      const Node *op = n->operands[0];
      gr.put(n, gr.leader.at(op), gr.offset.at(op));
      continue;
    }
    // An in-place concat leads a group that its producers (earlier) joined.
    if (slice.count(n) || (n->kind == OpKind::Concat && n->attrs.inPlace)) {
      auto r = sliceRoot(n);
      gr.put(n, r.first, r.second);
      continue;
    }
    // In place: overwrite an operand that nobody reads afterwards.
    if (elementwise(n->kind) && n->epilogue.empty()) {
      const Node *reuse = nullptr;
      for (const Node *op : n->operands) {
        const Node *l = gr.leader.at(op);
        if (l == inputLeader || gr.offset.at(op) != 0 ||
            numElements(l->shape) != numElements(n->shape) || lastRead(l) != n->id)
          continue;
        reuse = l;
        break;
      }
      if (reuse) {
        gr.put(n, reuse, 0);
        p.inPlace.insert(n);
        continue;
      }
    }
    gr.put(n, n, 0);
  }

  // Storage of every group.
  const Node *outLeader = gr.leader.at(g.output());
  p.copyInputToOutput = outLeader == inputLeader;
  std::vector<MemoryPlan::Buffer> bufs;
  std::unordered_map<const Node *, unsigned> bufOfLeader;
  for (const auto &np : g.nodes()) {
    const Node *n = np.get();
    if (!p.live.count(n))
      continue;
    const Node *l = gr.leader.at(n);
    MemoryPlan::Location loc;
    loc.offset = gr.offset.at(n);
    if (l == inputLeader)
      loc.storage = MemoryPlan::Storage::Input;
    else if (l == outLeader && !p.copyInputToOutput)
      loc.storage = MemoryPlan::Storage::Output;
    else
      loc.storage = MemoryPlan::Storage::Arena;
    p.at[n] = loc;
    if (!isView(n->kind) && n != g.input() && !n->attrs.inPlace)
      p.valueBytes += numElements(n->shape) * 4;
    if (loc.storage != MemoryPlan::Storage::Arena)
      continue;
    if (!bufOfLeader.count(l)) {
      MemoryPlan::Buffer b;
      b.owner = l;
      b.bytes = aligned(numElements(l->shape) * 4);
      b.first = n->id;
      b.last = lastRead(l);
      bufOfLeader[l] = bufs.size();
      bufs.push_back(b);
      p.naiveBytes += b.bytes;
    }
    p.bufferIndex[n] = bufOfLeader[l];
  }
  int64_t maxScratch = 0;
  std::unordered_map<const Node *, unsigned> scratchBuf;
  for (const auto &np : g.nodes()) {
    const Node *n = np.get();
    if (!p.live.count(n))
      continue;
    int64_t s = scratchBytes(*n);
    if (s <= 0)
      continue;
    maxScratch = std::max(maxScratch, aligned(s));
    MemoryPlan::Buffer b;
    b.owner = n;
    b.scratch = true;
    b.bytes = aligned(s);
    b.first = b.last = n->id;
    scratchBuf[n] = bufs.size();
    bufs.push_back(b);
  }
  p.naiveBytes += maxScratch;

  // Offsets: largest first, each at the lowest offset free during its life.
  std::vector<unsigned> order(bufs.size());
  for (unsigned i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](unsigned a, unsigned b) {
    return bufs[a].bytes > bufs[b].bytes;
  });
  std::vector<unsigned> placed;
  for (unsigned i : order) {
    MemoryPlan::Buffer &b = bufs[i];
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (unsigned j : placed)
      if (bufs[j].first <= b.last && b.first <= bufs[j].last)
        busy.push_back({bufs[j].offset, bufs[j].offset + bufs[j].bytes});
    std::sort(busy.begin(), busy.end());
    int64_t off = 0;
    for (const auto &r : busy) {
      if (off + b.bytes <= r.first)
        break;
      off = std::max(off, r.second);
    }
    b.offset = off;
    p.arenaBytes = std::max(p.arenaBytes, off + b.bytes);
    placed.push_back(i);
  }
  for (auto &kv : p.at)
    if (kv.second.storage == MemoryPlan::Storage::Arena)
      kv.second.offset += bufs[p.bufferIndex.at(kv.first)].offset;
  for (const auto &kv : scratchBuf)
    p.scratchOffset[kv.first] = bufs[kv.second].offset;
  p.buffers = std::move(bufs);
  return p;
}

void printMemoryPlan(const Graph &g, const MemoryPlan &p, llvm::raw_ostream &os) {
  os << "memory plan @" << (g.modelName.empty() ? "model" : g.modelName) << ": arena "
     << p.arenaBytes << " bytes (one buffer per value: " << p.naiveBytes
     << "; all values: " << p.valueBytes << ")\n";
  for (const auto &np : g.nodes()) {
    const Node &n = *np;
    auto it = p.at.find(&n);
    if (it == p.at.end())
      continue;
    os << "  %" << n.id << " " << opName(n.kind) << " " << shapeToString(n.shape) << ": ";
    switch (it->second.storage) {
    case MemoryPlan::Storage::Input:
      os << "input";
      break;
    case MemoryPlan::Storage::Output:
      os << "output";
      break;
    case MemoryPlan::Storage::Arena:
      os << "arena";
      break;
    }
    os << " +" << it->second.offset;
    if (isView(n.kind))
      os << " (view)";
    else if (p.inPlace.count(&n))
      os << " (in place)";
    else if (n.kind == OpKind::Concat && n.attrs.inPlace)
      os << " (concat in place)";
    auto s = p.scratchOffset.find(&n);
    if (s != p.scratchOffset.end())
      os << ", scratch arena +" << s->second;
    os << "\n";
  }
  for (size_t i = 0; i < p.buffers.size(); ++i) {
    const MemoryPlan::Buffer &b = p.buffers[i];
    os << "  buffer " << i << ": +" << b.offset << ", " << b.bytes << " bytes, live %" << b.first
       << "..%" << b.last << ", " << (b.scratch ? "scratch of %" : "value of %") << b.owner->id
       << "\n";
  }
}

} // namespace cnnc::ir
