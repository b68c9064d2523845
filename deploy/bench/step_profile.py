"""Where a training step's time goes, DL4J beside PyTorch, by kind of operation.

  step_profile.py clock BENCH.out > dl4j.json
      The last "[bench] kernel clock" line of a `graft bench-overhead` run made with
      GRAFT_JAVA_OPTS=-Dgraft.kernels.clock=true: milliseconds per step inside Graft's convolution, batch-norm
      and ReLU kernels, measured around each call. (A sampling profiler cannot split this step: JFR samples a
      thread in Java code and in native code at different rates and caps the threads it samples per period,
      and Graft's batch norm and ReLU run in Java where ND4J's ops run in C++.)
  step_profile.py compare dl4j.json torch.json
      A Markdown table: milliseconds per step of each kind in DL4J and in PyTorch (torch_peer.py --profile).
"""

import argparse
import json
import sys

KINDS = ["convolution", "batch norm", "activation", "residual add", "pooling", "output layer and loss", "updater (Adam)", "other"]


MEASURED = {"convolution": "convolution", "batch_norm": "batch norm", "relu": "activation"}
REST = "everything else (residual add, pooling, output layer and loss, updater, DL4J's own code)"


def clock(args):
    line = None
    for l in open(args.log):
        if "[bench] kernel clock" in l:
            line = l
    if line is None:
        sys.exit("step_profile: no '[bench] kernel clock' line in %s (run with GRAFT_JAVA_OPTS=-Dgraft.kernels.clock=true)" % args.log)
    values = dict(kv.split("=", 1) for kv in line.split(":", 1)[1].split() if "=" in kv)
    ms = {MEASURED[k]: float(v) for k, v in values.items() if k in MEASURED}
    step = float(values["step"])
    json.dump({"ms_per_step": step, "ms": ms}, sys.stdout)


def compare(args):
    d = json.load(open(args.dl4j))
    t = json.load(open(args.torch))
    t = t.get("profile", t)
    torch_ms = {k: t["ms_per_step"] * max(0.0, v) for k, v in t["shares"].items()}
    print("| kind of operation | DL4J ms per step | PyTorch ms per step | DL4J / PyTorch |")
    print("|---|---|---|---|")
    rows = [(k, d["ms"].get(k, 0.0), torch_ms.get(k, 0.0)) for k in ("convolution", "batch norm", "activation")]
    rows.append((REST, d["ms_per_step"] - sum(r[1] for r in rows), t["ms_per_step"] - sum(r[2] for r in rows)))
    for k, dm, tm in rows:
        print("| %s | %.1f | %.1f | %s |" % (k, dm, tm, "%.1fx" % (dm / tm) if tm >= 0.05 else "-"))
    print("| **whole step** | **%.1f** | **%.1f** | **%.1fx** |" % (d["ms_per_step"], t["ms_per_step"], d["ms_per_step"] / t["ms_per_step"]))
    print("\nDL4J: wall time inside Graft's convolution, batch-norm and ReLU kernels over the last epoch of the single-JVM fit"
          " (`-Dgraft.kernels.clock=true`), the rest of the measured step is everything else; PyTorch: torch.profiler over the"
          " profiled steps (self CPU time; the optimiser step timed apart).")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("clock")
    a.add_argument("log")
    b = sub.add_parser("compare")
    b.add_argument("dl4j")
    b.add_argument("torch")
    args = p.parse_args()
    clock(args) if args.command == "clock" else compare(args)


if __name__ == "__main__":
    main()
