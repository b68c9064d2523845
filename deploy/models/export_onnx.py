#!/usr/bin/env python3
"""Writes the ONNX models Graft's import is tested and benchmarked on, from real PyTorch.

  mnist-cnn   a small CNN trained on MNIST (1 epoch, seeded); prints and records its test accuracy.
              Its flatten is x.view(x.size(0), -1), which PyTorch exports as Shape/Gather/Unsqueeze/
              Concat/Reshape arithmetic.
  ops         random weights; one of each operator family Graft maps (depthwise and dilated
              convolutions, batch norm outside a convolution, LeakyReLU, ReLU6, sigmoid, tanh,
              hard sigmoid and hard swish, a squeeze-excitation product, constants added, subtracted,
              multiplied and divided per channel, concat, max and average pooling with padding and
              padding counted or not, MatMul + Add, dropout, softmax).
  grouped     random weights; grouped convolutions (2 and 4 groups, one strided with asymmetric
              kernel padding), neither plain nor depthwise.
  ceil-pool   random weights; max and average pooling whose ceil_mode adds a window at the end (overlapping and
              2x2 windows, padding not counted).
  ceil-pool-padded  random weights; average pooling with padding counted whose ceil_mode adds a window, with
              PyTorch's outputs on a seeded input (ONNX Runtime differs from PyTorch there before opset 19).
  ceil-pool-edge  max pooling whose ceil_mode would start a window in the end padding (PyTorch drops it): an
              attribute Graft refuses.
  gelu        a convolution followed by GELU, which PyTorch exports with Erf: an operator Graft refuses.
  resnet18    torchvision's resnet18 with a 1-channel stem and 10 classes, random weights (45 MB:
              generated, not committed).
  resnet18-mnist  the same architecture trained by PyTorch on MNIST (--rows training images, one
              epoch); records its test accuracy. The source of the ONNX fine-tuning benchmark.

Usage: export_onnx.py NAME [NAME ...] --out DIR [--mnist DIR] [--rows N]
Each NAME.onnx gets a NAME.json beside it: producer, opset, input shape, SHA-256 and, for
mnist-cnn, the test accuracy PyTorch measured on the 10,000 MNIST test images.
"""
import argparse
import gzip
import hashlib
import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 13


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">i", data[:4])
    dims = magic & 0xFF
    shape = struct.unpack(">" + "i" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


class MnistCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 5)
        self.conv2 = nn.Conv2d(8, 16, 5)
        self.fc1 = nn.Linear(16 * 4 * 4, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = x.view(x.size(0), -1)
        return self.fc2(F.relu(self.fc1(x)))


class Ops(nn.Module):
    """One of each operator family, in an order where every one is reached (random weights)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.depthwise = nn.Conv2d(8, 16, 3, padding=1, groups=8)
        self.dilated = nn.Conv2d(16, 16, 3, padding=2, dilation=2, bias=False)
        self.bn = nn.BatchNorm2d(16)
        self.se_reduce = nn.Conv2d(16, 4, 1)
        self.se_expand = nn.Conv2d(4, 16, 1)
        self.branch = nn.Conv2d(16, 8, 1, stride=2)
        self.shift = nn.Parameter(torch.randn(1, 16, 1, 1) * 0.1)
        self.scale = nn.Parameter(torch.rand(1, 16, 1, 1) + 0.5)
        self.weight = nn.Parameter(torch.randn(24 * 4 * 4, 12) * 0.05)
        self.bias = nn.Parameter(torch.randn(12) * 0.1)
        self.head = nn.Linear(12, 5)
        self.drop = nn.Dropout(0.3)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.2, 0.2)
            self.bn.running_var.uniform_(0.5, 2.0)
            self.bn.weight.uniform_(0.5, 1.5)
            self.bn.bias.uniform_(-0.2, 0.2)

    def forward(self, x):
        x = F.leaky_relu(self.stem(x), 0.1)
        x = F.relu6(self.depthwise(x))
        x = self.bn(torch.tanh(self.dilated(x)))
        se = torch.sigmoid(self.se_expand(F.relu(self.se_reduce(F.adaptive_avg_pool2d(x, 1)))))
        x = F.hardswish(x * se)
        x = (x - self.shift) / self.scale
        x = F.hardsigmoid(x * self.scale + self.shift)
        x = F.max_pool2d(x, 3, stride=2, padding=1)            # 16 -> 8
        b = self.branch(x)                                     # 8 -> 4
        x = F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False)  # 8 -> 4
        x = torch.cat([x, b], dim=1)                           # 24 channels
        x = torch.flatten(x, 1)
        x = torch.matmul(self.drop(x), self.weight) + self.bias
        return F.softmax(self.head(torch.tanh(x)), dim=1)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def export(model, example, out, name, extra):
    model.eval()
    path = os.path.join(out, name + ".onnx")
    tmp = path + ".tmp"
    torch.onnx.export(model, example, tmp, opset_version=OPSET, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    os.replace(tmp, path)
    meta = {"producer": "pytorch " + torch.__version__.split("+")[0], "opset": OPSET,
            "input_shape": list(example.shape[1:]), "sha256": sha256(path), **extra}
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(meta, f, indent=2)
    print(f"{name}: {path} ({os.path.getsize(path)} bytes) {json.dumps(extra)}")


MEAN, STD = 0.1307, 0.3081  # the usual MNIST normalisation, so the import records one


def train_on_mnist(model, mnist, rows, batch):
    """One epoch of Adam on the first `rows` MNIST training images; returns the accuracy on all 10,000 test images."""
    x = read_idx(os.path.join(mnist, "train-images-idx3-ubyte"))[:rows].float().div(255).unsqueeze(1)
    y = read_idx(os.path.join(mnist, "train-labels-idx1-ubyte"))[:rows].long()
    tx = read_idx(os.path.join(mnist, "t10k-images-idx3-ubyte")).float().div(255).unsqueeze(1)
    ty = read_idx(os.path.join(mnist, "t10k-labels-idx1-ubyte")).long()
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    order = torch.randperm(len(x))
    model.train()
    for i in range(0, len(x), batch):
        idx = order[i:i + batch]
        opt.zero_grad()
        F.cross_entropy(model((x[idx] - MEAN) / STD), y[idx]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        correct = sum(int((model((tx[i:i + 500] - MEAN) / STD).argmax(1) == ty[i:i + 500]).sum())
                      for i in range(0, len(tx), 500))
    return correct / len(tx), len(tx)


def mnist_cnn(out, mnist):
    torch.manual_seed(1)
    model = MnistCnn()
    accuracy, rows = train_on_mnist(model, mnist, 60000, 64)
    export(model, torch.zeros(1, 1, 28, 28), out, "mnist-cnn",
           {"test_accuracy": accuracy, "test_rows": rows, "mean": [MEAN], "std": [STD], "input_scale": 1})


def ops(out):
    torch.manual_seed(2)
    export(Ops(), torch.zeros(1, 3, 16, 16), out, "ops", {})


class Grouped(nn.Module):
    """Grouped convolutions (ResNeXt's and ShuffleNet's cardinality): neither plain (group 1) nor depthwise."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.grouped = nn.Conv2d(8, 12, 3, padding=1, groups=2, bias=False)
        self.bn = nn.BatchNorm2d(12)
        self.strided = nn.Conv2d(12, 16, 3, stride=2, padding=(1, 0), groups=4)
        self.fc = nn.Linear(16, 5)
        with torch.no_grad():
            self.bn.running_mean.uniform_(-0.2, 0.2)
            self.bn.running_var.uniform_(0.5, 2.0)

    def forward(self, x):
        x = F.relu(self.bn(self.grouped(F.relu(self.stem(x)))))
        x = F.relu(self.strided(x))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def grouped(out):
    torch.manual_seed(6)
    export(Grouped(), torch.zeros(1, 3, 12, 12), out, "grouped", {})


class CeilPool(nn.Module):
    """Pooling whose ceil_mode adds a window at the end, on a signed feature map: max with overlapping windows
    (SqueezeNet's, GoogLeNet's) and with 2x2 windows at stride 2, average with padding not counted and without padding."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.odd = nn.Conv2d(4, 4, 2)
        self.fc = nn.Linear(4 * (25 + 16 + 16 + 16), 10)

    def forward(self, x):
        x = self.conv(x)                                                                    # 8x8
        y = self.odd(x)                                                                     # 7x7
        parts = [F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),  # 4 -> 5 rows
                 F.max_pool2d(x, 3, stride=2, ceil_mode=True),                              # 3 -> 4
                 F.max_pool2d(y, 2, stride=2, ceil_mode=True),                              # 3 -> 4
                 F.avg_pool2d(y, 2, stride=2, ceil_mode=True)]
        return self.fc(torch.cat([p.flatten(1) for p in parts], 1))


def ceil_pool(out):
    torch.manual_seed(4)
    export(CeilPool(), torch.zeros(1, 1, 10, 10), out, "ceil-pool", {})


class CeilPoolPadded(nn.Module):
    """Average pooling with padding counted whose ceil_mode adds a window (PyTorch's default count_include_pad)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 25, 10)

    def forward(self, x):
        return self.fc(F.avg_pool2d(self.conv(x), 3, stride=2, padding=1, ceil_mode=True).flatten(1))   # 8x8 -> 5x5


def ceil_pool_padded(out):
    """ONNX Runtime before opset 19 divides ceil_mode's last window by the whole kernel here,
    where PyTorch and the ONNX spec divide by the input and padding it covers: the JSON records PyTorch's own
    outputs on a seeded input, to test against."""
    torch.manual_seed(8)
    model = CeilPoolPadded().eval()
    x = torch.round(torch.rand(3, 1, 10, 10, generator=torch.Generator().manual_seed(9)) * 1e6) / 1e6
    with torch.no_grad():
        y = model(x)
    export(model, torch.zeros(1, 1, 10, 10), out, "ceil-pool-padded",
           {"check_input": [round(float(v), 6) for v in x.flatten()], "check_output": [float(v) for v in y.flatten()]})


class CeilPoolEdge(nn.Module):
    """ceil_mode where the last window would start in the end padding: PyTorch drops that window."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 2)
        self.fc = nn.Linear(4 * 3 * 3, 3)

    def forward(self, x):
        return self.fc(F.max_pool2d(self.conv(x), 2, stride=2, padding=1, ceil_mode=True).flatten(1))   # 5x5 -> 3x3


def ceil_pool_edge(out):
    torch.manual_seed(7)
    export(CeilPoolEdge(), torch.zeros(1, 1, 6, 6), out, "ceil-pool-edge", {})


class Gelu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 6 * 6, 3)

    def forward(self, x):
        return self.fc(F.gelu(self.conv(x)).flatten(1))


def gelu(out):
    torch.manual_seed(5)
    export(Gelu(), torch.zeros(1, 1, 8, 8), out, "gelu", {})


def resnet18(out):
    import torchvision
    torch.manual_seed(3)
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    export(model, torch.zeros(1, 1, 28, 28), out, "resnet18", {"torchvision": torchvision.__version__})


def resnet18_mnist(out, mnist, rows):
    import torchvision
    torch.manual_seed(6)
    model = torchvision.models.resnet18(num_classes=10)
    model.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    accuracy, test_rows = train_on_mnist(model, mnist, rows, 128)
    export(model, torch.zeros(1, 1, 28, 28), out, "resnet18-mnist",
           {"torchvision": torchvision.__version__, "train_rows": rows, "test_accuracy": accuracy, "test_rows": test_rows,
            "mean": [MEAN], "std": [STD], "input_scale": 1})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("names", nargs="+", choices=["mnist-cnn", "ops", "grouped", "ceil-pool", "ceil-pool-padded", "ceil-pool-edge", "gelu", "resnet18",
                                                         "resnet18-mnist"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--mnist", default="data/raw/mnist")
    parser.add_argument("--rows", type=int, default=20000, help="resnet18-mnist: MNIST training images (one epoch)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    os.makedirs(args.out, exist_ok=True)
    for name in args.names:
        {"mnist-cnn": lambda: mnist_cnn(args.out, args.mnist), "ops": lambda: ops(args.out), "grouped": lambda: grouped(args.out),
         "ceil-pool": lambda: ceil_pool(args.out),
         "ceil-pool-padded": lambda: ceil_pool_padded(args.out), "ceil-pool-edge": lambda: ceil_pool_edge(args.out), "gelu": lambda: gelu(args.out),
         "resnet18": lambda: resnet18(args.out), "resnet18-mnist": lambda: resnet18_mnist(args.out, args.mnist, args.rows)}[name]()


if __name__ == "__main__":
    sys.exit(main())
