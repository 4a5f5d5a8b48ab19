//===- Elaborate.cpp - entry model, construction, paths, tracing ----------===//
#include "Elaborate/Elaborate.h"

#include "Elaborate/Interpreter.h"

#include <set>

using namespace cnnc::ast;
using namespace cnnc::eval;

namespace cnnc {
namespace {

/// The `Tensor[...]` annotation of a class's forward input, or null.
const Expr *entryAnnotation(const Stmt &cls) {
  for (const auto &s : cls.body) {
    if (s->kind != StmtKind::FunctionDef || s->name != "forward" || s->params.size() < 2)
      continue;
    const Expr *ann = s->params[1].annotation.get();
    if (ann && ann->kind == ExprKind::Subscript && ann->children[0]->kind == ExprKind::Name &&
        ann->children[0]->text == "Tensor")
      return ann;
  }
  return nullptr;
}

/// Gives every module reachable from root its PyTorch path ("layer1.0.conv1").
void assignPaths(const ValueRef &root, ModelInfo &info) {
  std::set<const ObjectData *> seen;
  std::function<void(const ValueRef &, const std::string &)> walk =
      [&](const ValueRef &m, const std::string &path) {
        ObjectData &o = *m->obj;
        if (!seen.insert(&o).second)
          return;
        o.path = path;
        for (const auto &p : o.paramOrder) {
          const ir::Shape &shape = *o.params.find(p);
          std::string key = path.empty() ? p : path + "." + p;
          info.allParams.push_back({key, shape});
          if (p != "running_mean" && p != "running_var")
            info.totalParams += ir::numElements(shape);
        }
        for (const auto &kv : o.modules.items())
          if (kv.second->kind == ValueKind::Object)
            walk(kv.second, path.empty() ? kv.first : path + "." + kv.first);
      };
  walk(root, "");
}

} // namespace

std::unique_ptr<ir::Graph> elaborate(const File &file, DiagEngine &diags,
                                     const ElaborateOptions &opts, ModelInfo &info) {
  // 1. The entry model.
  std::vector<const Stmt *> entries;
  const Stmt *named = nullptr;
  for (const auto &s : file.body) {
    if (s->kind != StmtKind::ClassDef)
      continue;
    if (!opts.modelName.empty() && s->name == opts.modelName)
      named = s.get();
    if (entryAnnotation(*s))
      entries.push_back(s.get());
  }
  const llvm::MemoryBuffer *buf = diags.sourceMgr().getMemoryBuffer(
      diags.sourceMgr().getMainFileID());
  llvm::SMLoc fileStart = llvm::SMLoc::getFromPointer(buf->getBufferStart());
  const Stmt *entry = nullptr;
  if (!opts.modelName.empty()) {
    if (!named) {
      // A command-line problem: no source location.
      std::vector<std::string> classes;
      std::string list;
      for (const auto &s : file.body)
        if (s->kind == StmtKind::ClassDef) {
          classes.push_back(s->name);
          list += (list.empty() ? "" : ", ") + s->name;
        }
      std::string hint = didYouMean(opts.modelName, classes);
      diags.error("--model " + opts.modelName + ": no class named '" + opts.modelName +
                  "' in " + buf->getBufferIdentifier() +
                  (hint.empty() ? "" : "; did you mean '" + hint + "'?"));
      if (!list.empty())
        diags.note("the classes in this file are: " + list);
      return nullptr;
    }
    if (!entryAnnotation(*named)) {
      diags.error(named->loc(), "model '" + opts.modelName + "' does not annotate the input "
                                "of forward; write e.g. 'def forward(self, x: Tensor[1, 3, 32, 32])'");
      return nullptr;
    }
    entry = named;
  } else if (entries.empty()) {
    // Point at the input of the last forward in the file (usually the
    // model's), or at the start of the file when there is none.
    llvm::SMLoc at = fileStart;
    for (const auto &s : file.body)
      if (s->kind == StmtKind::ClassDef)
        for (const auto &f : s->body)
          if (f->kind == StmtKind::FunctionDef && f->name == "forward")
            at = f->params.size() >= 2 ? f->params[1].range.begin : f->loc();
    diags.error(at, "no entry model: annotate the input of one model's forward, "
                    "e.g. 'def forward(self, x: Tensor[1, 3, 32, 32])'");
    return nullptr;
  } else if (entries.size() > 1) {
    diags.error(entryAnnotation(*entries[1])->loc(),
                "two entry models: '" + entries[0]->name + "' and '" + entries[1]->name +
                    "' both annotate their forward input; pick one with --model NAME");
    diags.note(entryAnnotation(*entries[0])->loc(), "'" + entries[0]->name +
                                                        "' is annotated here");
    return nullptr;
  } else {
    entry = entries[0];
  }

  auto graph = std::make_unique<ir::Graph>();
  graph->modelName = entry->name;
  Interpreter interp(diags, *graph);
  try {
    // 2. The file's top level: imports, classes, constants, helpers.
    interp.runModule(file);

    // 3. The input shape from the annotation.
    const Expr *ann = entryAnnotation(*entry);
    ValueRef dims = interp.eval(*ann->children[1], interp.globals);
    std::vector<ValueRef> items =
        dims->kind == ValueKind::Tuple ? dims->items : std::vector<ValueRef>{dims};
    ir::Shape shape;
    int64_t total = 1;
    for (auto &d : items) {
      if (d->kind != ValueKind::Int || d->i <= 0)
        interp.fail(ann->children[1]->loc(),
                    "input dimensions must be positive integers, got " + repr(*dims));
      shape.push_back(d->i);
      if (__builtin_mul_overflow(total, d->i, &total) || total > kMaxTensorElements)
        interp.fail(ann->children[1]->loc(),
                    "input " + repr(*dims) + " has more than 2^31 elements, cnnc's limit");
    }
    if (shape.size() < 2 || shape.size() > 4)
      interp.fail(ann->children[1]->loc(),
                  "the input must have 2 to 4 dimensions ([N, features] or [N, C, H, W]), got " +
                      repr(*dims));

    // 4. Construct the model.
    ValueRef cls = *interp.globals->vars.find(entry->name);
    if (cls->kind != ValueKind::Class)
      interp.fail(entry->loc(), "'" + entry->name + "' is not a class after running the file");
    CallArgs none;
    none.callLoc = entry->loc();
    ValueRef root = interp.instantiate(cls, none);
    if (!isModuleObject(*root))
      interp.fail(entry->loc(), "entry model '" + entry->name + "' must derive from nn.Module");
    assignPaths(root, info);

    // 5. Trace forward.
    ir::Node *input = graph->addNode(ir::OpKind::Input, {}, shape, "", ann->loc());
    graph->setInput(input);
    interp.tracing = true;
    CallArgs args;
    args.positional = {makeTensor(input, shape)};
    args.positionalLocs = {ann->loc()};
    args.callLoc = entry->loc();
    ValueRef out = interp.callModule(root, args);
    if (out->kind != ValueKind::Tensor)
      interp.fail(entry->loc(), "forward of '" + entry->name + "' must return one tensor, "
                                "not " + typeName(*out));
    if (!out->tensor->node)
      return nullptr; // errors were reported
    for (int64_t d : out->tensor->shape)
      (void)d;
    graph->setOutput(out->tensor->node);
  } catch (EvalError &e) {
    interp.report(e);
    return nullptr;
  }
  if (diags.hasErrors())
    return nullptr;
  // Tensors with more elements than the limit (e.g. a huge Linear).
  for (const auto &n : graph->nodes())
    if (ir::numElements(n->shape) > kMaxTensorElements) {
      diags.error(n->loc, "this operation produces " + ir::shapeToString(n->shape) +
                              ", more than 2^31 elements, cnnc's limit");
      return nullptr;
    }
  return graph;
}

} // namespace cnnc
