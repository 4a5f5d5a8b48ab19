//===- Weights.h - model weights: safetensors in, checked against the IR ---===//
//
// A WeightSet maps PyTorch state_dict keys to float32 tensors. It is read from
// a safetensors file (validated completely before anything is trusted) and
// bound to an ir::Graph, which reports every missing / misshapen tensor by
// name. The .npy reader/writer used by `cnnc run` lives here too.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_WEIGHTS_WEIGHTS_H
#define CNNC_WEIGHTS_WEIGHTS_H

#include "IR/Graph.h"
#include "llvm/Support/Error.h"

#include <map>
#include <string>
#include <vector>

namespace cnnc::weights {

struct Tensor {
  ir::Shape shape;
  std::vector<float> data; ///< numElements(shape) values, C order
};

class WeightSet {
public:
  std::map<std::string, Tensor> tensors;
  /// Tensors of the file that were not loaded because their dtype is not a
  /// floating-point type (key -> safetensors dtype, e.g. "I64" for
  /// num_batches_tracked). bindToGraph uses it to explain a param that
  /// refers to one.
  std::map<std::string, std::string> skippedDtypes;
  /// The file's "__metadata__" object (string -> string), if any.
  std::map<std::string, std::string> metadata;
  const Tensor *find(const std::string &key) const;
};

/// "[10, 3, 3, 3]" form used in weight diagnostics ("[]" for a scalar).
using ir::shapeToList;

/// Reads a safetensors file. float32 is taken as is, float16/bfloat16 are
/// converted, integer tensors (e.g. num_batches_tracked) are skipped. Every
/// structural problem (header length, JSON, offsets, overlaps, byte counts,
/// dtypes) is an error whose message names the file and, where one is
/// involved, the tensor.
llvm::Expected<WeightSet> readSafetensors(const std::string &path);

/// Writes float32 tensors as safetensors (used by tests and `cnnc bench`).
llvm::Error writeSafetensors(const std::string &path, const WeightSet &ws);

/// Checks that every Param of every node in g has a tensor of the right shape.
/// Errors (all of them, one per line) name the tensor and show both shapes.
/// Extra tensors not used by the graph produce warnings printed to `warn`.
llvm::Error bindToGraph(const WeightSet &ws, const ir::Graph &g,
                        std::vector<std::string> &warnings);

/// Fills a WeightSet with deterministic pseudo-random values for every param
/// in g (PyTorch-like uniform init scale; running_var positive).
WeightSet randomWeights(const ir::Graph &g, uint64_t seed);

/// .npy float32 C-order reader/writer (versions 1.0-3.0 read, 1.0 written).
llvm::Expected<Tensor> readNpy(const std::string &path);
llvm::Error writeNpy(const std::string &path, const Tensor &t);

} // namespace cnnc::weights

#endif
