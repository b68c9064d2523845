"""Where a training step's time goes, DL4J beside PyTorch, by kind of operation.

  step_profile.py dl4j RECORDING.jfr --ms-per-step MS [--thread main] [--within OverheadBenchmark.fitWithGraftKernels] > dl4j.json
      JFR samples of one thread (Java and native method samples together) classified by the DL4J layer
      or vertex on their stack (the innermost one) or the updater; needs the JDK's `jfr` on the PATH.
  step_profile.py compare dl4j.json torch.json
      A Markdown table: milliseconds per step of each kind in DL4J and in PyTorch (torch_peer.py --profile).
"""

import argparse
import collections
import json
import subprocess
import sys

KINDS = ["convolution", "batch norm", "activation", "residual add", "pooling", "output layer and loss", "updater (Adam)", "other"]


def dl4j_kind(cls):
    name = cls.rsplit(".", 1)[1]
    for key, kind in (("Conv", "convolution"), ("BatchNorm", "batch norm"), ("Activation", "activation"), ("Relu", "activation"),
                      ("ElementWise", "residual add"), ("Pooling", "pooling"), ("Subsampling", "pooling"),
                      ("Output", "output layer and loss"), ("Loss", "output layer and loss"), ("Dense", "output layer and loss")):
        if key in name:
            return kind
    return None


def classify(stack):
    """The kind of one sample: the updater if it is on the stack, else the innermost DL4J layer or vertex (or Graft's
    replacement for one) that names a kind."""
    for cls, _ in stack:
        if "Updater" in cls or cls.startswith("org.nd4j.linalg.learning."):
            return "updater (Adam)"
    for cls, _ in stack:  # innermost first
        if cls.startswith(("org.deeplearning4j.nn.layers.", "org.deeplearning4j.nn.graph.vertex.impl.", "io.graft.model.")):
            kind = dl4j_kind(cls)
            if kind:
                return kind
    return "other"


def dl4j(args):
    out = subprocess.run(["jfr", "print", "--json", "--stack-depth", "256", "--events", "jdk.ExecutionSample,jdk.NativeMethodSample", args.recording],
                         check=True, capture_output=True, text=True).stdout
    counts = collections.Counter()
    for e in json.loads(out)["recording"]["events"]:
        if (e["values"].get("sampledThread") or {}).get("javaName", "") != args.thread:
            continue
        stack = [((f.get("method") or {}).get("type", {}).get("name", "?").replace("/", "."), (f.get("method") or {}).get("name", "?"))
                 for f in (e["values"].get("stackTrace") or {}).get("frames", [])]
        if args.within and not any((c + "." + m).endswith(args.within) for c, m in stack):
            continue
        counts[classify(stack)] += 1
    total = sum(counts.values())
    if total == 0:
        sys.exit("step_profile: no samples of thread %s within %s in %s" % (args.thread, args.within, args.recording))
    json.dump({"ms_per_step": args.ms_per_step, "samples": total, "shares": {k: v / total for k, v in counts.items()}}, sys.stdout)


def compare(args):
    d = json.load(open(args.dl4j))
    t = json.load(open(args.torch))
    t = t.get("profile", t)
    print("| kind of operation | DL4J ms per step | PyTorch ms per step | DL4J / PyTorch |")
    print("|---|---|---|---|")
    for k in KINDS:
        dm = d["ms_per_step"] * d["shares"].get(k, 0)
        tm = t["ms_per_step"] * max(0.0, t["shares"].get(k, 0))
        print("| %s | %.1f | %.1f | %s |" % (k, dm, tm, "%.1fx" % (dm / tm) if tm >= 0.05 else "-"))
    print("| **whole step** | **%.1f** | **%.1f** | **%.1fx** |" % (d["ms_per_step"], t["ms_per_step"], d["ms_per_step"] / t["ms_per_step"]))
    print("\nDL4J: %d JFR samples of the timed single-JVM fit; PyTorch: torch.profiler over the profiled steps (self CPU time;"
          " the optimiser step timed apart)." % d["samples"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("dl4j")
    a.add_argument("recording")
    a.add_argument("--ms-per-step", type=float, required=True)
    a.add_argument("--thread", default="main")
    a.add_argument("--within", default="OverheadBenchmark.fitWithGraftKernels")
    b = sub.add_parser("compare")
    b.add_argument("dl4j")
    b.add_argument("torch")
    args = p.parse_args()
    dl4j(args) if args.command == "dl4j" else compare(args)


if __name__ == "__main__":
    main()
