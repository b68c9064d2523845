"""The PyTorch peer of `graft bench-overhead`: the network Graft trains, on the rows Graft trains on.

Graft writes the benchmark's rows as NumPy files (train-x.npy float32 [n, features], train-y.npy
int32 [n], test-x.npy, test-y.npy) and runs this script with the interpreter that imports torch.
Three variants, each trained for --epochs epochs with Adam at --lr and its last epoch timed:

  single   one process, --threads intra-op threads (torch.set_num_threads)
  ddp      --procs processes of one thread each, DistributedDataParallel over gloo on the loopback,
           each process a 1/procs shard and minibatches of --batch (as TorchDistributor runs it)

Each variant prints one JSON line: samples timed, samples/s of the timed epoch, test accuracy.
With --profile STEPS (single only) it then profiles STEPS more minibatches and adds the share of
their time per kind of operation (deploy/bench/profile-resnet.sh compares it with DL4J's).
"""

import argparse
import collections
import json
import os
import re
import sys
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn
import torch.nn.functional as F


def lenet(shape, classes):
    c, h, w = shape
    k = 5 if h >= 20 and w >= 20 else 3
    flat = 50 * (((h - k + 1) // 2 - k + 1) // 2) * (((w - k + 1) // 2 - k + 1) // 2)
    return nn.Sequential(
        nn.Conv2d(c, 20, k), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Conv2d(20, 50, k), nn.ReLU(), nn.MaxPool2d(2, 2),
        nn.Flatten(), nn.Linear(flat, 500), nn.ReLU(), nn.Linear(500, classes))


class Block(nn.Module):
    """Graft's basic residual block: two 3x3 convolutions with batch norm, identity or 1x1 projection shortcut."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.proj is None else self.proj(x)))


def resnet(shape, classes, stages, widths):
    layers = [nn.Conv2d(shape[0], widths[0], 3, 1, 1, bias=False), nn.BatchNorm2d(widths[0]), nn.ReLU()]
    cin = widths[0]
    for s, (blocks, width) in enumerate(zip(stages, widths)):
        for b in range(blocks):
            layers.append(Block(cin, width, 2 if s > 0 and b == 0 else 1))
            cin = width
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def build(args, classes):
    torch.manual_seed(args.seed)
    if args.model == "lenet":
        return lenet(args.shape, classes)
    return resnet(args.shape, classes, args.stages, args.widths)


def load(args):
    x = torch.from_numpy(np.load(os.path.join(args.data, "train-x.npy"))).reshape(-1, *args.shape)
    y = torch.from_numpy(np.load(os.path.join(args.data, "train-y.npy")).astype(np.int64))
    tx = torch.from_numpy(np.load(os.path.join(args.data, "test-x.npy"))).reshape(-1, *args.shape)
    ty = torch.from_numpy(np.load(os.path.join(args.data, "test-y.npy")).astype(np.int64))
    return x, y, tx, ty


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x[i:i + 256]).argmax(1) == y[i:i + 256]).sum()) for i in range(0, len(x), 256))
    model.train()
    return correct / len(x)


def epochs(model, opt, x, y, args, seed):
    """Trains args.epochs epochs over (x, y) in shuffled minibatches; returns (samples, seconds) of the last."""
    g = torch.Generator().manual_seed(seed)
    samples, seconds = 0, 0.0
    for _ in range(args.epochs):
        if dist.is_initialized():
            dist.barrier()
        t0 = time.perf_counter()
        order = torch.randperm(len(x), generator=g)
        samples = 0
        for i in range(0, len(x), args.batch):
            idx = order[i:i + args.batch]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            opt.step()
            samples += len(idx)
        if dist.is_initialized():
            dist.barrier()
        seconds = time.perf_counter() - t0
    return samples, seconds


def single(args):
    torch.set_num_threads(args.threads)
    x, y, tx, ty = load(args)
    model = build(args, int(max(y.max(), ty.max())) + 1)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    samples, seconds = epochs(model, opt, x, y, args, args.seed)
    result = {"variant": "single", "threads": args.threads, "processes": 1, "samples": samples,
              "samples_per_s": samples / seconds, "test_accuracy": accuracy(model, tx, ty)}
    if args.profile > 0:
        result["profile"] = profile(model, opt, x, y, args)
    return result


KINDS = [("convolution", ("conv",)), ("batch norm", ("batch_norm",)), ("activation", ("relu", "threshold")),
         ("pooling", ("pool",)), ("output layer and loss", ("addmm", "aten::mm", "linear", "softmax", "nll_loss", "cross_entropy")),
         ("residual add", ("aten::add",))]


def kind(op):
    for name, keys in KINDS:
        if any(k in op for k in keys):
            return name
    return "other"


def profile(model, opt, x, y, args):
    """Shares of a training step's time: the optimiser step timed apart, forward and backward by operation kind."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile
    step_s, total_s = 0.0, 0.0
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(args.profile):
            idx = torch.arange(i * args.batch, (i + 1) * args.batch) % len(x)
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x[idx]), y[idx]).backward()
            t1 = time.perf_counter()
            opt.step()
            t2 = time.perf_counter()
            step_s += t2 - t1
            total_s += t2 - t0
    self_time = collections.Counter()
    for e in prof.key_averages():
        if not e.key.startswith("Optimizer.") and not e.key.startswith("aten::_foreach") and e.key not in ("aten::addcmul_", "aten::addcdiv_"):
            self_time[kind(e.key)] += e.self_cpu_time_total
    fwd_bwd = sum(self_time.values())
    shares = {k: (1 - step_s / total_s) * v / fwd_bwd for k, v in self_time.items()}
    shares["updater (Adam)"] = step_s / total_s
    return {"ms_per_step": 1000 * total_s / args.profile, "shares": shares}


def ddp_worker(rank, args, port, out):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank, world_size=args.procs)
    x, y, tx, ty = load(args)
    classes = int(max(y.max(), ty.max())) + 1
    model = nn.parallel.DistributedDataParallel(build(args, classes))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    samples, seconds = epochs(model, opt, x[rank::args.procs], y[rank::args.procs], args, args.seed + rank)
    total = torch.tensor([float(samples)])
    dist.all_reduce(total)
    if rank == 0:
        with open(out, "w") as f:
            json.dump({"variant": "ddp", "threads": 1, "processes": args.procs, "samples": int(total.item()),
                       "samples_per_s": total.item() / seconds, "test_accuracy": accuracy(model.module, tx, ty)}, f)
    dist.destroy_process_group()


def ddp(args):
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = os.path.join(args.data, "ddp-result.json")
    mp.spawn(ddp_worker, args=(args, port, out), nprocs=args.procs, join=True)
    with open(out) as f:
        return json.load(f)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--shape", required=True, help="channels,height,width")
    p.add_argument("--model", choices=["lenet", "resnet"], default="lenet")
    p.add_argument("--stages", default="2,2,2")
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--variant", choices=["single", "ddp"], required=True)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--procs", type=int, default=2)
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--profile", type=int, default=0, help="minibatches to profile after the timed epochs (single only)")
    args = p.parse_args()
    args.shape = [int(v) for v in args.shape.split(",")]
    args.stages = [int(v) for v in args.stages.split(",")]
    args.widths = [int(v) for v in args.widths.split(",")]
    result = single(args) if args.variant == "single" else ddp(args)
    config = torch.__config__.show()
    capability = next((line.split(":", 1)[1].strip() for line in config.splitlines() if "CPU capability usage" in line), "?")
    onednn = re.search(r"MKL-DNN (v[0-9.]+)", config)
    result.update({"torch": torch.__version__, "capability": "ATen %s, oneDNN %s" % (
        capability, onednn.group(1) if onednn and torch.backends.mkldnn.is_available() else "off")})
    print(json.dumps(result))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
