//===- Verifier.h - structural and shape checks of the IR -----------------===//
#ifndef CNNC_IR_VERIFIER_H
#define CNNC_IR_VERIFIER_H

#include "IR/Graph.h"

#include <string>
#include <vector>

namespace cnnc::ir {

/// Checks: one input node, an output, operands defined before use, ids equal
/// positions, every shape positive and equal to what inferShape() computes,
/// params with positive shapes. Returns the problems found (empty = valid).
std::vector<std::string> verifyGraph(const Graph &g);

} // namespace cnnc::ir

#endif
