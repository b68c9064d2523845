"""Where a training step's time goes, DL4J beside PyTorch, by kind of operation.

  step_profile.py clock BENCH.out > dl4j.json
      The last "[bench] kernel clock" line of a `graft bench-overhead` run made with
      GRAFT_JAVA_OPTS=-Dgraft.kernels.clock=true: milliseconds per step inside Graft's convolution, batch-norm
      and ReLU kernels, measured around each call. (A sampling profiler cannot split this step: JFR samples a
      thread in Java code and in native code at different rates and caps the threads it samples per period,
      and Graft's batch norm and ReLU run in Java where ND4J's ops run in C++.)
  step_profile.py compare dl4j.json torch.json
      A Markdown table: milliseconds per step of each kind in DL4J and in PyTorch (torch_peer.py --profile).
  step_profile.py onednn CEILING.out [--batch 256]
      A Markdown table: milliseconds per LeNet step in each kind of oneDNN primitive, DL4J's oneDNN layers beside
      Graft's kernels, from a `graft bench-ceiling` run made with DNNL_VERBOSE=1 (oneDNN then prints every
      primitive it executes, with its time). The lines before each "[bench] LeNet, <layers>, batch N" line belong
      to that row; steps are counted by convolution backward-weights passes (one per such layer per step: LeNet's
      second convolution has one in every row). Rows without oneDNN convolutions (DL4J's built-in layers) are left out.
"""

import argparse
import collections
import json
import re
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


CONV_PASSES = ["forward", "backward data (input gradient)", "backward weights", "weight gradient as a forward convolution (Graft)"]
OTHER_KINDS = ["reorder (layout conversion)", "pooling", "other oneDNN primitives"]
ROW = re.compile(r"\[bench\] LeNet, (.+), batch (\d+): ([0-9.]+) samples/s")


def onednn_kind(fields, batch):
    """(order, label) of one executed primitive; a convolution's label names its channels, in -> out."""
    kind, prop = fields[3], fields[5]
    if kind == "reorder":
        return (10 ** 9, OTHER_KINDS[0])
    if kind.startswith("pooling"):
        return (10 ** 9 + 1, OTHER_KINDS[1])
    m = re.match(r"mb(\d+)_ic(\d+)oc(\d+)", fields[-2])
    if kind != "convolution" or not m:
        return (10 ** 9 + 2, OTHER_KINDS[2])
    mb, ic, oc = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if prop == "backward_data":
        p = 1
    elif prop == "backward_weights":
        p = 2
    elif ic == batch and mb != batch:
        p, ic = 3, mb  # the minibatch swapped in as input channels: the layer's channels are mb -> oc
    else:
        p = 0
    return (10 * ic + p, "convolution %d→%d channels, %s" % (ic, oc, CONV_PASSES[p]))


def onednn(args):
    rows = collections.OrderedDict()
    ms = collections.Counter()
    weight_passes = collections.Counter()
    for line in open(args.log, errors="replace"):
        if line.startswith(("dnnl_verbose,exec", "onednn_verbose,exec")):
            f = line.strip().split(",")
            try:
                ms[onednn_kind(f, args.batch)] += float(f[-1])
            except ValueError:
                continue
            if f[3] == "convolution" and f[5] == "backward_weights":
                weight_passes[f[-2]] += 1
            continue
        m = ROW.search(line)
        if m:
            # rows on DL4J's built-in layers run no oneDNN convolution (their pooling may still run on oneDNN): left out
            if int(m.group(2)) == args.batch and weight_passes:
                steps = sum(weight_passes.values()) / len(weight_passes)
                rows[m.group(1)] = (1000.0 * args.batch / float(m.group(3)), {k: v / steps for k, v in ms.items()}, steps)
            ms.clear()
            weight_passes.clear()
    if len(rows) < 2:
        sys.exit("step_profile: no oneDNN primitives for two LeNet rows at batch %d in %s (run bench-ceiling with DNNL_VERBOSE=1)"
                 % (args.batch, args.log))
    names = list(rows)
    print("| kind of work | " + " | ".join("%s, ms per step" % n for n in names) + " |")
    print("|---|" + "---|" * len(names))
    for k in sorted({k for n in names for k in rows[n][1]}):
        print("| %s | %s |" % (k[1], " | ".join("%.1f" % rows[n][1].get(k, 0.0) for n in names)))
    print("| outside oneDNN (dense layers, activations, Graft's max pooling, loss, Adam, DL4J's own code) | %s |"
          % " | ".join("%.1f" % (rows[n][0] - sum(rows[n][1].values())) for n in names))
    print("| **whole step** | %s |" % " | ".join("**%.1f**" % rows[n][0] for n in names))
    print("\nLeNet at minibatch %d, one thread: oneDNN's own timing of every primitive it ran (`DNNL_VERBOSE=1`, which slows"
          " the step a little), per step (%s steps); the whole step from the row's samples per second in the same run."
          % (args.batch, ", ".join("%.0f" % rows[n][2] for n in names)))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    a = sub.add_parser("clock")
    a.add_argument("log")
    o = sub.add_parser("onednn")
    o.add_argument("log")
    o.add_argument("--batch", type=int, default=256)
    b = sub.add_parser("compare")
    b.add_argument("dl4j")
    b.add_argument("torch")
    args = p.parse_args()
    try:
        {"clock": clock, "onednn": onednn, "compare": compare}[args.command](args)
    except OSError as e:
        sys.exit("step_profile: cannot read %s: %s" % (e.filename, e.strerror))


if __name__ == "__main__":
    main()
