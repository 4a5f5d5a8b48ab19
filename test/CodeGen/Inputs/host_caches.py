#!/usr/bin/python3
"""host_caches LOG: checks that the cache sizes cnnc reported under
CNNC_CONV_DEBUG ("caches per core: L1 .. KiB, L2 .. KiB, L3 .. KiB") are
this machine's, read here from sysfs independently (a shared cache counted
as its size over the CPUs sharing it); a level sysfs does not describe must
show cnnc's default (32 KiB, 512 KiB, 4096 KiB)."""
import glob
import os
import re
import sys

expected = {"1": 32, "2": 512, "3": 4096}
for d in sorted(glob.glob("/sys/devices/system/cpu/cpu0/cache/index*")):
    def read(name):
        try:
            with open(os.path.join(d, name)) as f:
                return f.read().strip()
        except OSError:
            return ""
    if read("type") not in ("Data", "Unified"):
        continue
    m = re.fullmatch(r"(\d+)([KM]?)", read("size"))
    if not m:
        continue
    size = int(m.group(1)) * {"": 1, "K": 1024, "M": 1024 * 1024}[m.group(2)]
    cpus = 0
    for part in read("shared_cpu_list").split(","):
        if part:
            lo, _, hi = part.partition("-")
            cpus += int(hi or lo) - int(lo) + 1
    expected[read("level")] = int(size / max(cpus, 1)) // 1024

log = open(sys.argv[1]).read()
m = re.search(r"caches per core: L1 (\d+) KiB, L2 (\d+) KiB, L3 (\d+) KiB", log)
if not m:
    sys.exit("host_caches: no cache line in the log")
got = {"1": int(m.group(1)), "2": int(m.group(2)), "3": int(m.group(3))}
want = {k: expected[k] for k in ("1", "2", "3")}
if got != want:
    sys.exit("host_caches: cnnc reported %s, sysfs says %s" % (got, want))
print("host_caches: L1 %d KiB, L2 %d KiB, L3 %d KiB match" % (got["1"], got["2"], got["3"]))
