//===- MemoryPlan.h - where every tensor of a graph lives -----------------===//
//
// The generated code keeps all intermediate tensors in one arena whose size
// is fixed at compile time. The plan gives every value a storage (the
// caller's input or output buffer, or the arena) and a byte offset:
//  * views (reshape, dropout, identity) share their operand's bytes;
//  * producers of an in-place concat write at their slice's offset;
//  * an elementwise op (activation, add, mul, batchnorm) whose operand dies
//    there overwrites the operand's buffer (in place);
//  * the value that is the output lives in the caller's output buffer;
//  * every other group of values is an arena buffer live from its first
//    write to its last read, and buffers whose lifetimes do not overlap
//    share bytes (greedy by size: the largest is placed first, each at the
//    lowest 64-byte-aligned offset free during its lifetime). Kernel scratch
//    is a buffer live only during its kernel.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_IR_MEMORYPLAN_H
#define CNNC_IR_MEMORYPLAN_H

#include "IR/Graph.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace cnnc::ir {

struct MemoryPlan {
  enum class Storage { Input, Output, Arena };
  struct Location {
    Storage storage = Storage::Arena;
    int64_t offset = 0; ///< bytes from the start of the storage
  };
  struct Buffer {
    const Node *owner = nullptr; ///< the node whose value defines its size
    bool scratch = false;        ///< kernel scratch of `owner`
    int64_t bytes = 0, offset = 0;
    unsigned first = 0, last = 0; ///< node positions (inclusive) it is live
  };
  std::unordered_set<const Node *> live;         ///< nodes the output depends on
  std::unordered_map<const Node *, Location> at; ///< every live value
  std::unordered_set<const Node *> inPlace;      ///< kernels overwriting an operand
  std::unordered_map<const Node *, int64_t> scratchOffset; ///< arena bytes
  std::vector<Buffer> buffers;                   ///< the arena's buffers
  std::unordered_map<const Node *, unsigned> bufferIndex; ///< arena values
  int64_t arenaBytes = 0;  ///< the planned arena
  int64_t naiveBytes = 0;  ///< one buffer per value, scratch shared, no reuse
  int64_t valueBytes = 0;  ///< sum of all computed values (the output included)
  bool copyInputToOutput = false; ///< the output is a view of the input

  /// Arena buffer holding `n`'s value, or null (input, output, none).
  const Buffer *bufferOf(const Node *n) const;
};

constexpr int64_t kBufferAlign = 64;

/// Plans `g`; `scratchBytes(n)` is the scratch n's kernel needs (0: none).
MemoryPlan planMemory(const Graph &g, llvm::function_ref<int64_t(const Node &)> scratchBytes);

/// The plan as text (--emit=memory): one line per value with its storage,
/// offset and live range, then the arena's buffers.
void printMemoryPlan(const Graph &g, const MemoryPlan &p, llvm::raw_ostream &os);

/// Ops that only reinterpret their operand's bytes.
bool isView(OpKind k);

} // namespace cnnc::ir

#endif
