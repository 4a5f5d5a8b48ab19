//===- Layers.h - the nn layers cnnc knows: construction and attributes ---===//
//
// Every supported torch.nn layer is described by a table entry: its
// constructor arguments with PyTorch's names, order, defaults and types, a
// validation step with PyTorch's rules, and the parameters it creates (with
// state_dict names and shapes). Construction happens during elaboration; the
// forward behaviour of each layer lives in Trace.cpp.
//
//===----------------------------------------------------------------------===//
#ifndef CNNC_ELABORATE_LAYERS_H
#define CNNC_ELABORATE_LAYERS_H

#include "Elaborate/Interpreter.h"

namespace cnnc::eval {

/// Adds nn.<Layer> constructors and the nn.Module / nn.Sequential /
/// nn.ModuleList base classes to the torch.nn namespace.
void addNNLayers(Interpreter &interp, OrderedMap<ValueRef> &nn);

/// Runs the builtin part of construction: nn.Module.__init__(),
/// nn.Sequential.__init__(*modules | OrderedDict), nn.ModuleList.__init__(it).
void initBuiltinBase(Interpreter &interp, const ValueRef &self,
                     const std::string &base, CallArgs &args);

/// A constructor argument of a builtin layer read as an attribute
/// (`self.conv1.out_channels`), or null.
ValueRef layerAttribute(const ObjectData &obj, const std::string &name);

/// Builtin methods of module objects (add_module, append, extend, ...), or
/// null when the name is not one.
ValueRef moduleMethod(Interpreter &interp, const ValueRef &self,
                      const std::string &name, llvm::SMLoc loc);

/// Registers a submodule (or None) under name on a module object.
void registerModule(Interpreter &interp, ObjectData &obj, const std::string &name,
                    const ValueRef &value, llvm::SMLoc loc);

/// True for PyTorch layers that exist but cnnc does not compile (LSTM, ...).
bool isKnownUnsupportedLayer(const std::string &name);

/// Reads an int or a pair of ints (kernel_size=3 or (3, 5)).
void intPair(const Value &v, int64_t out[2]);

} // namespace cnnc::eval

#endif
