//===- BindWeights.cpp - check a WeightSet against the graph's params -----===//
//
// Before code generation every Param of every graph node must have a float
// tensor of exactly the declared shape. All problems are collected (missing
// tensors, wrong shapes, integer tensors where floats are expected) and
// returned as one error, one line each, in graph order; tensors the graph
// never uses become warnings. Also home of WeightSet::find and the
// "[10, 3, 3, 3]" shape formatting used by all weight diagnostics.
//
//===----------------------------------------------------------------------===//
#include "Weights/Weights.h"

#include <set>

namespace cnnc::weights {

const Tensor *WeightSet::find(const std::string &key) const {
  auto it = tensors.find(key);
  return it == tensors.end() ? nullptr : &it->second;
}

llvm::Error bindToGraph(const WeightSet &ws, const ir::Graph &g,
                        std::vector<std::string> &warnings) {
  std::vector<std::string> errors;
  std::set<std::string> used;
  for (const auto &node : g.nodes()) {
    for (const ir::Param &p : node->params) {
      // A module called twice in forward has its params on both nodes.
      if (!used.insert(p.key).second)
        continue;
      if (const Tensor *t = ws.find(p.key)) {
        if (t->shape != p.shape)
          errors.push_back("tensor '" + p.key + "' has shape " +
                           shapeToList(t->shape) + " but the model expects " +
                           shapeToList(p.shape));
        continue;
      }
      auto skipped = ws.skippedDtypes.find(p.key);
      if (skipped != ws.skippedDtypes.end())
        errors.push_back("tensor '" + p.key + "' has dtype " +
                         skipped->second + ", expected a floating-point type");
      else
        errors.push_back("missing tensor '" + p.key + "' (expected shape " +
                         shapeToList(p.shape) + ")");
    }
  }
  for (const auto &[key, t] : ws.tensors)
    if (!used.count(key))
      warnings.push_back("unused tensor '" + key + "' in the weights file");
  // Integer buffers PyTorch always saves (num_batches_tracked) are expected.
  llvm::StringRef tracked = "num_batches_tracked";
  for (const auto &[key, dtype] : ws.skippedDtypes)
    if (!used.count(key) && !llvm::StringRef(key).ends_with(tracked))
      warnings.push_back("unused tensor '" + key + "' in the weights file");

  if (errors.empty())
    return llvm::Error::success();
  std::string msg;
  for (size_t i = 0; i < errors.size(); ++i)
    msg += (i ? "\n" : "") + errors[i];
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

} // namespace cnnc::weights
