#!/usr/bin/python3
"""check_arena - checks a memory plan against a bound (memory_plan.test).

  check_arena.py --at-most-half SUMMARY.json   arena <= layer outputs / 2
  check_arena.py --ping-pong MEMORY.txt        arena <= 2 x largest value
                                               + largest scratch
MEMORY.txt is `cnnc --emit=memory` output. Exit 1 when the bound fails.
"""
import json
import re
import sys


def main():
    mode, path = sys.argv[1], sys.argv[2]
    text = open(path, encoding="utf-8").read()
    if mode == "--at-most-half":
        s = json.loads(text)
        arena, total = s["peak_activation_bytes"], s["layer_output_bytes"]
        ok = 2 * arena <= total
        print("arena %d %s layer outputs %d / 2" % (arena, "<=" if ok else ">", total))
        return 0 if ok else 1
    arena = int(re.search(r"arena (\d+) bytes", text).group(1))
    values = [int(b) for b in re.findall(r"(\d+) bytes, live \S+, value of", text)]
    scratch = [int(b) for b in re.findall(r"(\d+) bytes, live \S+, scratch of", text)]
    big, sc = max(values or [0]), max(scratch or [0])
    ok = arena <= 2 * big + sc
    print("arena %d %s 2 x largest value %d + largest scratch %d"
          % (arena, "<=" if ok else ">", big, sc))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
