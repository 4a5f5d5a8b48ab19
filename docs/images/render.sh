#!/bin/sh
# Regenerates the pictures in docs/ from the example models:
#   docs/images/render.sh [path/to/cnnc]
# Each picture is the .dot text cnnc prints (checked against the current
# compiler by test/docs/pictures.test) rendered to SVG by Graphviz, for one
# fixed target (the memory plan, and so the arena, is the target's).
set -e
cnnc=${1:-build/bin/cnnc}
here=$(dirname "$0")
root=$here/../..
pic() { # name, model, emit
  "$cnnc" "$root/$2" --emit="$3" --random-weights 1 --target-cpu=x86-64-v3 -o "$here/$1.dot"
  dot -Tsvg "$here/$1.dot" -o "$here/$1.svg"
}
pic seed examples/seed.cnn dot
pic seed-opt examples/seed.cnn dot-opt
pic resnet-block test/models/ext/resnet_block.cnn dot
pic resnet-block-opt test/models/ext/resnet_block.cnn dot-opt
