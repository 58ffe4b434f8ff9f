#!/usr/bin/python3
"""Prints the reference numbers hard-coded in the LoraGrains.Torch tests.

Run with Debian's interpreter, which has PyTorch 1.13:  /usr/bin/python3 reference_values.py
(plain `python3` on PATH may be another Python without torch).

Inputs are made by `seq`, which the C# tests rebuild with Ref.Seq: every value is k/4 for a small
integer k, so both sides start from bit-identical float32 inputs. References are computed in float64
(by PyTorch ops in double, or by the textbook formula written out below), then printed with 9
significant digits, enough to pin a float32 value.
"""
import math

import torch
import torch.nn.functional as F


def seq(shape, k, dtype=torch.float64):
    """Value i (row-major) = ((i*k + 3) % 17 - 8) / 4; the same formula as Ref.Seq in C#."""
    n = math.prod(shape)
    return torch.tensor([((i * k + 3) % 17 - 8) / 4 for i in range(n)], dtype=dtype).reshape(shape)


def emit(name, t):
    vals = t.detach().to(torch.float64).flatten().tolist()
    print(f"// {name}: shape {list(t.shape)}")
    print("[" + ", ".join(f"{v:.9g}f" for v in vals) + "]")
    print()


torch.set_printoptions(precision=10)

# ---- nn ops ---------------------------------------------------------------------------------------
x = seq((1, 2, 5, 5), 5)
w = seq((3, 2, 3, 3), 7)
b = seq((3,), 11)
emit("conv2d x(1,2,5,5;5) w(3,2,3,3;7) b(3;11) stride1 pad1", F.conv2d(x, w, b, stride=1, padding=1))

x = seq((1, 4, 5, 5), 5)
w = seq((4, 2, 3, 3), 13)
emit("conv2d x(1,4,5,5;5) w(4,2,3,3;13) nobias stride2 pad1 groups2", F.conv2d(x, w, None, stride=2, padding=1, groups=2))

x = seq((1, 1, 4, 5), 5)
w = seq((2, 1, 2, 2), 7)
emit("conv2d x(1,1,4,5;5) w(2,1,2,2;7) stride(2,1) pad(0,1) dil(1,2)", F.conv2d(x, w, None, stride=(2, 1), padding=(0, 1), dilation=(1, 2)))

x = seq((2, 3), 5)
w = seq((4, 3), 7)
b = seq((4,), 11)
emit("linear x(2,3;5) w(4,3;7) b(4;11)", F.linear(x, w, b))
emit("linear x(2,3;5) w(4,3;7) nobias", F.linear(x, w))
x = seq((2, 2, 3), 5)
emit("linear x(2,2,3;5) w(4,3;7) b(4;11)", F.linear(x, w, b))

a = seq((2, 2, 3), 5)
m = seq((3, 2), 7)
emit("matmul a(2,2,3;5) @ m(3,2;7) (broadcast)", a @ m)
b2 = seq((2, 3, 2), 11)
emit("bmm a(2,2,3;5) b(2,3,2;11)", torch.bmm(a, b2))
inp = seq((2, 2, 2), 13)
emit("baddbmm inp(2,2,2;13) a b beta0.5 alpha2", torch.baddbmm(inp, a, b2, beta=0.5, alpha=2))

x = seq((2, 4, 3, 3), 5)
gw = seq((4,), 7)
gb = seq((4,), 11)
emit("group_norm x(2,4,3,3;5) groups2 w(4;7) b(4;11) eps1e-5", F.group_norm(x, 2, gw, gb, 1e-5))
emit("group_norm x(2,4,3,3;5) groups4 noaffine eps1e-6", F.group_norm(x, 4, None, None, 1e-6))

x = seq((2, 3, 4), 5)
lw = seq((4,), 7)
lb = seq((4,), 11)
emit("layer_norm x(2,3,4;5) [4] w(4;7) b(4;11) eps1e-5", F.layer_norm(x, (4,), lw, lb, 1e-5))
emit("layer_norm x(2,3,4;5) [3,4] noaffine eps1e-5", F.layer_norm(x, (3, 4), None, None, 1e-5))

x = seq((2, 5), 5)
emit("softmax x(2,5;5) dim1", F.softmax(x, 1))
emit("softmax x(2,5;5) dim0", F.softmax(x, 0))
emit("log_softmax x(2,5;5) dim-1", F.log_softmax(x, -1))


def attention(q, k, v, mask=None, causal=False, scale=None):
    """softmax(q k^T * scale + mask) v, written out (PyTorch 1.13 has no F.scaled_dot_product_attention)."""
    scale = 1 / math.sqrt(q.shape[-1]) if scale is None else scale
    s = (q @ k.transpose(-2, -1)) * scale
    if causal:
        keep = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        s = s.masked_fill(~keep, float("-inf"))
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    return torch.softmax(s, -1) @ v


q = seq((1, 2, 3, 4), 5)
k = seq((1, 2, 5, 4), 7)
v = seq((1, 2, 5, 3), 11)
emit("sdpa q(1,2,3,4;5) k(1,2,5,4;7) v(1,2,5,3;11)", attention(q, k, v))
bool_mask = torch.tensor([[True, False, True, True, False],
                          [False, True, True, False, True],
                          [True, True, False, False, False]])
emit("sdpa same, bool mask [[10110],[01101],[11000]]", attention(q, k, v, mask=bool_mask))
float_mask = seq((3, 5), 13)
emit("sdpa same, float mask (3,5;13) added", attention(q, k, v, mask=float_mask))
emit("sdpa same, scale 0.3", attention(q, k, v, scale=0.3))
q4 = seq((1, 1, 4, 4), 5)
k4 = seq((1, 1, 4, 4), 7)
v4 = seq((1, 1, 4, 2), 11)
emit("sdpa causal q(1,1,4,4;5) k(1,1,4,4;7) v(1,1,4,2;11)", attention(q4, k4, v4, causal=True))

x = torch.arange(9, dtype=torch.float64).reshape(1, 1, 3, 3)
emit("interpolate nearest arange(9)(1,1,3,3) -> (5,4)", F.interpolate(x, size=(5, 4), mode="nearest"))

x = torch.arange(6, dtype=torch.float64).reshape(1, 1, 2, 3)
emit("pad arange(6)(1,1,2,3) [1,2,0,1] value -1", F.pad(x, [1, 2, 0, 1], value=-1))
emit("pad arange(6)(1,1,2,3) [-1,1]", F.pad(x, [-1, 1]))

# ---- activations, by their textbook formulas in float64 -------------------------------------------
act_x = [-3.0, -1.5, -0.5, 0.0, 0.25, 1.0, 2.5, 4.0]
sig = lambda v: 1 / (1 + math.exp(-v))
for name, f in [
    ("silu x*sigmoid(x)", lambda v: v * sig(v)),
    ("gelu 0.5x(1+erf(x/sqrt2))", lambda v: 0.5 * v * (1 + math.erf(v / math.sqrt(2)))),
    ("gelu tanh 0.5x(1+tanh(sqrt(2/pi)(x+0.044715x^3)))",
     lambda v: 0.5 * v * (1 + math.tanh(math.sqrt(2 / math.pi) * (v + 0.044715 * v ** 3)))),
    ("quick_gelu x*sigmoid(1.702x)", lambda v: v * sig(1.702 * v)),
]:
    emit(f"{name} on {act_x}", torch.tensor([f(v) for v in act_x], dtype=torch.float64))

# ---- dtype conversions (what the C# tests state as known rounding) -------------------------------
f32 = torch.tensor([1 / 3, 65504.0, 65520.0, 1e-8, -2.5, 0.1], dtype=torch.float32)
print("// float32 -> float16", [f"{v!r}" for v in f32.half().double().tolist()])
f32 = torch.tensor([1 / 3, 1.00390625, 1.01171875, -7.0, 3e38], dtype=torch.float32)
print("// float32 -> bfloat16", [f"{v!r}" for v in f32.bfloat16().double().tolist()])
print("// float32 -> int64", torch.tensor([-2.7, -0.5, 0.5, 2.7, 1e10]).long().tolist())
print("// float32 -> int32", torch.tensor([-2.7, 2.7, 123456.9]).int().tolist())
print("// float32 -> uint8", torch.tensor([0.0, 1.9, 254.5, 255.0]).to(torch.uint8).tolist())
print("// float32 -> bool", torch.tensor([0.0, -0.0, 0.5, -3.0, float("nan")]).bool().tolist())
print("// int64 -> float32", torch.tensor([16777217, 16777219, -3]).float().double().tolist())
print()

# ---- reductions -----------------------------------------------------------------------------------
x = seq((2, 3, 4), 5)
print(f"// sum all {x.sum().item():.9g}  mean all {x.mean().item():.9g}  var all {x.var().item():.9g}  "
      f"var all biased {x.var(unbiased=False).item():.9g}  std all {x.std().item():.9g}")
emit("sum dim1", x.sum(1))
emit("sum dims(0,2) keepdim", x.sum((0, 2), keepdim=True))
emit("mean dim-1", x.mean(-1))
emit("var dim1 unbiased", x.var(1))
emit("var dim2 biased keepdim", x.var(2, unbiased=False, keepdim=True))
emit("std dims(0,1) unbiased", x.std((0, 1)))

# ---- RNG ------------------------------------------------------------------------------------------
g = torch.Generator().manual_seed(11)
print(f"// randn(1,4,2) seed 11 sum {torch.randn(1, 4, 2, generator=g).sum().item()!r}")
g = torch.Generator().manual_seed(1234)
emit("randn(2,3) seed 1234", torch.randn(2, 3, generator=g))
g = torch.Generator().manual_seed(11)
r = torch.randn(1, 4, 32, 32, generator=g)
flat = r.flatten()
print(f"// randn(1,4,32,32) seed 11: sum {r.sum().item()!r} (float32 sum), sum in float64 {r.double().sum().item()!r}")
idx = [0, 1, 7, 15, 16, 17, 1000, 4095]
print("// values at flat indices", idx)
print("[" + ", ".join(f"{flat[i].item():.9g}f" for i in idx) + "]")
g = torch.Generator().manual_seed(42)
torch.randn(5, generator=g)
state = g.get_state()
a = torch.randn(20, generator=g)
g.set_state(state)
b = torch.randn(20, generator=g)
print(f"// state round trip equal: {torch.equal(a, b)}, state bytes {state.numel()}")
