//===- Trace.h - tensor operations of forward, recorded as IR nodes -------===//
//
// When forward runs, every layer call, functional call (F.relu, torch.flatten,
// ...), tensor method (x.view, x.size) and tensor arithmetic appends a node to
// the IR graph, after checking and inferring shapes with PyTorch's rules.
// Shape errors are reported with the arithmetic in notes, and tracing
// continues with a poisoned tensor so independent errors show in one run.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_ELABORATE_TRACE_H
#define CNNC_ELABORATE_TRACE_H

#include "Elaborate/Interpreter.h"

namespace cnnc::eval {

/// Calls a builtin layer object (Conv2d, Sequential, ...) on its arguments.
ValueRef traceLayer(Interpreter &interp, const ValueRef &module, CallArgs &args);

/// Tensor arithmetic: `a + b`, `a * b` (and their augmented forms).
ValueRef traceBinary(Interpreter &interp, const std::string &op,
                     const ValueRef &a, const ValueRef &b, llvm::SMLoc loc);

/// Attributes and methods of a tensor (x.view, x.size, x.shape, ...).
ValueRef tensorAttribute(Interpreter &interp, const ValueRef &t,
                         const std::string &name, llvm::SMLoc loc);

/// Adds the functional operations to the torch and torch.nn.functional
/// namespaces (F.relu, torch.flatten, torch.cat, ...).
void addFunctionalOps(Interpreter &interp, OrderedMap<ValueRef> &torch,
                      OrderedMap<ValueRef> &functional);

} // namespace cnnc::eval

#endif
