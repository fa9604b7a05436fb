"""Write and execute the notebooks of this folder:  python notebooks/make_notebooks.py

Each notebook is a list of cells here (markdown or code); executing them with
nbclient stores their outputs, so the notebooks read well on GitHub.  The
cells import only symdiff (plus numpy/matplotlib for data and plots).
"""

import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

HERE = Path(__file__).parent

NOTEBOOKS = {}


def notebook(name):
    def register(cells):
        NOTEBOOKS[name] = cells
        return cells
    return register


def md(text):
    return ("markdown", text.strip("\n"))


def code(text):
    return ("code", text.strip("\n"))


notebook("01_colah_computational_graph")([
    md("""
# Calculus on computational graphs (colah)

Christopher Olah's example: $e = (a+b)(b+1)$ at $a=2$, $b=1$.  The graph
has one node per operation; each edge carries the local partial derivative.
A derivative is the **sum over all paths** from the input to the output of
the **product of the edge derivatives** along each path."""),
    code("""
import symdiff as sd
e = sd.parse("(a + b) * (b + 1)")
e"""),
    md("""Before any numbers, the structure: each edge carries its local partial as a
formula ($\\partial e/\\partial c = d = b + 1$), and the derivative is the sum over
paths of their products, written out:"""),
    code("""sd.show_graph("(a + b) * (b + 1)", highlight="b").equation"""),
    md("""At the point $a=2$, $b=1$ every node gets its value and every edge the value of
its partial:"""),
    code("""
picture = sd.show_graph("(a + b) * (b + 1)", at={"a": 2, "b": 1}, highlight="b")
picture.equation"""),
    md("""Two paths lead from $b$ to $e$: through $c = a+b$ (edges 1 and 2) and
through $d = b+1$ (edges 1 and 3), so $\\partial e/\\partial b = 1\\cdot 2 + 1\\cdot 3 = 5$.
From $a$ there is one path:"""),
    code("""sd.show_graph("(a + b) * (b + 1)", at={"a": 2, "b": 1}, highlight="a").equation"""),
    md("""
## Forward and reverse mode

Forward mode pushes one derivative per *input* up the graph (one sweep per
input); reverse mode pulls one derivative per *output* down (one sweep per
output).  Both give the same numbers:"""),
    code("""
for mode in ("forward", "reverse"):
    vg = sd.value_and_grad("(a + b) * (b + 1)", wrt=["a", "b"], mode=mode, backend="python")
    print(mode, vg(a=2, b=1))"""),
    md("The programs they run differ. Forward mode, one tangent per input:"),
    code("""print(sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], mode="forward", backend="python").source)"""),
    md("Reverse mode: a forward sweep keeps what the reverse sweep needs, then adjoints flow back:"),
    code("""print(sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], mode="reverse", backend="python").source)"""),
    code("""sd.compare("(a + b) * (b + 1)", wrt=["a", "b"], backend="python")"""),
])

notebook("02_toy_network")([
    md("""
# The toy network of *Understanding Deep Learning*, chapter 7

$f = \\beta_3 + \\omega_3\\cos(\\beta_2 + \\omega_2 \\exp(\\beta_1 + \\omega_1 \\sin(\\beta_0 + \\omega_0 x)))$
with the least-squares loss $\\ell = (f - y)^2$.  All eight derivatives at once:"""),
    code("""
import numpy as np
import symdiff as sd

loss = "(beta3 + omega3*cos(beta2 + omega2*exp(beta1 + omega1*sin(beta0 + omega0*x))) - y)^2"
params = ["beta0", "omega0", "beta1", "omega1", "beta2", "omega2", "beta3", "omega3"]
point = dict(beta0=1.0, omega0=1.0, beta1=2.0, omega1=-1.0, beta2=0.0, omega2=1.0,
             beta3=0.0, omega3=1.0, x=2.3, y=2.0)
vg = sd.value_and_grad(loss, wrt=params)
value, gradient = vg(**point)
print("loss", value)
for name, d in zip(params, gradient):
    print(f"dl/d{name:<7} = {d: .6f}")"""),
    code("""sd.check_grad(loss, wrt=params, at=point)"""),
    md("""
## Forward vs reverse on a chain (problems 7.12–7.13)

Eight parameters and one output: reverse mode needs one backward sweep,
forward mode one sweep per parameter."""),
    code("""
report = sd.compare(loss, wrt=params, samples=100_000)
print(report)"""),
    md("""A chain computed both ways, in the spirit of problems 7.12–7.13:
$f_1 = \\cos(x)$, $f_2 = \\exp(f_1)$, $f_3 = \\sin(f_2)$, $y = \\exp(f_3) + \\sin(f_3)$.
With one input and one output both modes do the same work; forward mode
carries $\\partial f_k/\\partial x$ up the chain, reverse mode
$\\partial y/\\partial f_k$ down it:"""),
    code("""
chain = "exp(sin(exp(cos(x)))) + sin(sin(exp(cos(x))))"
print(sd.compare(chain, backend="python", measure=False).programs())"""),
    md("""Each mode's single sweep is a product with a vector: forward mode pushed along a
direction $v$ gives $Jv$ (a *jvp*), reverse mode pulled back from a weighting $u$ of the
outputs gives $u^T J$ (a *vjp*).  The whole Jacobian takes $n$ forward sweeps or $m$ reverse
ones; one product takes one sweep, whatever $n$ and $m$.  The direction comes in as more
inputs, named as in AD texts: $\\dot x$ is `x_dot`, $\\bar f$ is `f_bar`."""),
    code("""
fs = ["x*y*z", "sin(x) + y", "exp(z - x)"]
J = sd.jacobian(fs, wrt=["x", "y", "z"], backend="python")
Jv = sd.jvp(fs, wrt=["x", "y", "z"], backend="python")
uJ = sd.vjp(fs, wrt=["x", "y", "z"], backend="python")
p, v, u = np.array([0.5, -1.0, 2.0]), np.array([1.0, 2.0, 0.0]), np.array([0.0, 1.0, -1.0])
print("J v   =", J.at(p) @ v, "  jvp:", Jv.at(p, v))
print("u^T J =", u @ J.at(p), "  vjp:", uJ.at(p, u))
print(uJ.source.split("def vjp")[1])"""),
    md("""The same work, but not the same memory: forward mode computes each value next to
its tangent and can drop it; reverse mode must keep the values for its sweep back.
On deeper chains (values alive at once):"""),
    code("""
from symdiff.examples import sin_exp_chain
for depth in (10, 100, 1000, 10000):
    r = sd.compare(sin_exp_chain(depth), measure=False)
    print(f"depth {depth:>6,}: forward {r.forward.peak_live:>5,}   reverse {r.reverse.peak_live:>5,}")"""),
    code("""report.plot();"""),
    md("""The classic lesson, over a family $\\mathbb{R}^n \\to \\mathbb{R}^m$ (n inputs mixed
into one value, a chain of sines, m outputs): forward wins with few inputs and
many outputs, reverse with many inputs and few outputs."""),
    code("""sd.plot_scaling(sd.scaling_study(ns=(1, 2, 4, 8, 16, 32), ms=(1, 2, 4, 8, 16, 32)));"""),
    md("""
## A two-layer ReLU network against the matrix formulas

With $h = \\mathrm{relu}(\\Omega_0 x + \\beta_0)$ and $f = \\Omega_1 h + \\beta_1$, backpropagation
gives $\\partial\\ell/\\partial\\Omega_1 = \\partial\\ell/\\partial f\\, h^T$ and
$\\partial\\ell/\\partial\\Omega_0 = (\\mathbb{1}[z>0] \\odot \\Omega_1^T \\partial\\ell/\\partial f)\\, x^T$."""),
    code("""
D_in, D_h = 3, 4
rng = np.random.default_rng(0)
W0, b0, W1 = rng.normal(size=(D_h, D_in)), rng.normal(size=D_h), rng.normal(size=D_h)
b1, x, y = 0.3, rng.normal(size=D_in), 0.7

hidden = [f"relu({' + '.join(f'w{i}{j}*x{j}' for j in range(D_in))} + b{i})" for i in range(D_h)]
net = f"({' + '.join(f'v{i}*{h}' for i, h in enumerate(hidden))} + c - y)^2"
names = [f"w{i}{j}" for i in range(D_h) for j in range(D_in)] + [f"v{i}" for i in range(D_h)]
values = {f"w{i}{j}": W0[i, j] for i in range(D_h) for j in range(D_in)}
values.update({f"v{i}": W1[i] for i in range(D_h)}, **{f"b{i}": b0[i] for i in range(D_h)})
values.update({f"x{j}": x[j] for j in range(D_in)}, c=b1, y=y)
g = sd.grad(net, wrt=names, backend="python")(**values)

z = W0 @ x + b0
h = np.maximum(z, 0)
dl_df = 2 * (W1 @ h + b1 - y)
dW1 = dl_df * h
dW0 = np.outer((z > 0) * W1 * dl_df, x)
print(np.allclose(g[:D_h * D_in], dW0.ravel()), np.allclose(g[D_h * D_in:], dW1))"""),
    md("""
## Gradients through 50 layers, with and without He initialization

One ReLU layer $h' = \\mathrm{relu}(W h)$; symdiff gives its Jacobian
$\\partial h'/\\partial h$.  Chaining 50 of them shows the gradient vanish
(small weights) or keep its size (He: variance $2/D$)."""),
    code("""
import matplotlib.pyplot as plt

D = 12
layer = [f"relu({' + '.join(f'w{i}_{j}*h{j}' for j in range(D))})" for i in range(D)]
J = sd.jacobian(layer, wrt=[f"h{j}" for j in range(D)], backend="python")

def gradient_norms(scale, layers=50, seed=1):
    rng = np.random.default_rng(seed)
    h = rng.normal(size=D)
    grad = np.eye(D)
    norms = []
    for _ in range(layers):
        W = rng.normal(scale=scale, size=(D, D))
        args = {f"w{i}_{j}": W[i, j] for i in range(D) for j in range(D)}
        args.update({f"h{j}": h[j] for j in range(D)})
        grad = J(**args) @ grad
        h = np.maximum(W @ h, 0)
        norms.append(np.linalg.norm(grad))
    return norms

for scale, label in [(np.sqrt(2 / D), "He: std sqrt(2/D)"), (0.2, "std 0.2"), (0.8, "std 0.8")]:
    plt.semilogy(gradient_norms(scale), label=label)
plt.xlabel("layer"); plt.ylabel("|d h_layer / d h_0|"); plt.legend();"""),
])

notebook("03_four_ways_to_a_gradient")([
    md("""
# Four ways to get a gradient

By hand, numerically, symbolically and automatically — on
$x^2 + 2xy + y^2$ and on the staged example
$f(x, y) = \\dfrac{x + \\sigma(y)}{\\sigma(x) + (x+y)^2}$ at $x=3$, $y=-4$."""),
    md("## 1. Symbolically"),
    code("""
import sympy
import symdiff as sd
d = sd.diff("x^2 + 2*x*y + y^2", "x")
d, sympy.factor(d)"""),
    code("""
staged = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)^2)"
sd.diff(staged, "x")"""),
    md("## 2. By hand (chain rule, worked on paper and typed in)"),
    code("""
import math
x, y = 3.0, -4.0
s = lambda t: 1 / (1 + math.exp(-t))
num, den = x + s(y), s(x) + (x + y) ** 2
dnum_dx, dden_dx = 1.0, s(x) * (1 - s(x)) + 2 * (x + y)
dnum_dy, dden_dy = s(y) * (1 - s(y)), 2 * (x + y)
by_hand = [(dnum_dx * den - num * dden_dx) / den**2, (dnum_dy * den - num * dden_dy) / den**2]
by_hand"""),
    md("## 3. Numerically (central differences) and 4. automatically (both modes)"),
    code("""
check = sd.check_grad(staged, at={"x": 3, "y": -4})
print(check)"""),
    code("""
import numpy as np
print(np.allclose(by_hand, check.reverse), np.allclose(by_hand, check.forward))"""),
    code("""sd.grad(staged, mode="reverse", backend="python")"""),
])

notebook("04_backprop_by_hand")([
    md("""
# Backpropagation by hand vs symdiff

## The apple shop

Two apples at 100 each, tax 1.1: price $= \\text{apple} \\cdot \\text{num} \\cdot \\text{tax} = 220$.
Backward pass by hand: $\\partial p/\\partial \\text{apple} = \\text{num}\\cdot\\text{tax} = 2.2$,
$\\partial p/\\partial \\text{num} = \\text{apple}\\cdot\\text{tax} = 110$,
$\\partial p/\\partial \\text{tax} = \\text{apple}\\cdot\\text{num} = 200$."""),
    code("""
import symdiff as sd
vg = sd.value_and_grad("apple * num * tax", wrt=["apple", "num", "tax"], backend="python")
vg(apple=100, num=2, tax=1.1)"""),
    code("""sd.show_graph("apple * num * tax", at={"apple": 100, "num": 2, "tax": 1.1}, highlight="apple").equation"""),
    md("""
## The sigmoid neuron

$f = 1/(1 + e^{-(w_0x_0 + w_1x_1 + w_2)})$ at $w = [2, -3, -3]$, $x = [-1, -2]$.
By hand: the dot product is 1, $f = \\sigma(1) = 0.731$, and the local gradient
of the sigmoid is $f(1-f) = 0.197$, so $\\partial f/\\partial w = 0.197\\,[x_0, x_1, 1]$."""),
    code("""
import math
f = 1 / (1 + math.exp(-1.0))
local = f * (1 - f)
by_hand = [local * -1, local * -2, local * 1, local * 2, local * -3]
neuron = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
auto = sd.grad(neuron, wrt=["w0", "w1", "w2", "x0", "x1"], backend="python")(w0=2, w1=-3, w2=-3, x0=-1, x1=-2)
by_hand, auto"""),
    code("""print(sd.grad(neuron, wrt=["w0", "w1", "w2", "x0", "x1"], mode="reverse", backend="python").source)"""),
])

notebook("05_export_and_speed")([
    md("""
# Exporting a compiled gradient, and timing it

`sd.export` writes a module that imports only numpy and numba; copy it
into any project.  Here it goes to a temporary folder and is imported back."""),
    code("""
import sys, tempfile, time, importlib
import numpy as np
import sympy
import symdiff as sd

loss = "(beta3 + omega3*cos(beta2 + omega2*exp(beta1 + omega1*sin(beta0 + omega0*x))) - y)^2"
params = ["beta0", "omega0", "beta1", "omega1", "beta2", "omega2", "beta3", "omega3"]
g = sd.grad(loss, wrt=params)
folder = tempfile.mkdtemp()
sd.export(g, f"{folder}/toy_grad.py")
sys.path.insert(0, folder)
toy_grad = importlib.import_module("toy_grad")
print(toy_grad.__doc__)"""),
    code("""
rng = np.random.default_rng(0)
p = rng.normal(scale=0.5, size=8)
x, y = rng.normal(size=1_000_000), rng.normal(size=1_000_000)
toy_grad.grad_array(*p, x, y)                       # compile (or load numba's cache)

expr = sd.parse(loss)
symbols = {s.name: s for s in expr.free_symbols}
args = [symbols[n] for n in params + ["x", "y"]]
sympy_grad = sympy.lambdify(args, [sympy.diff(expr, symbols[n]) for n in params], cse=True)

def best(fn, repeats=3):
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); fn(); times.append(time.perf_counter() - start)
    return min(times)

t_symdiff = best(lambda: toy_grad.grad_array(*p, x, y))
t_sympy = best(lambda: sympy_grad(*p, x, y))
print(f"symdiff exported module: {t_symdiff * 1e3:.1f} ms for 10^6 samples")
print(f"SymPy lambdify(cse=True): {t_sympy * 1e3:.1f} ms  ({t_sympy / t_symdiff:.1f}x slower)")
print("same numbers:", np.allclose(toy_grad.grad_array(*p, x, y), np.array(sympy_grad(*p, x, y))))"""),
])

notebook("06_where_sympy_gives_up")([
    md("""
# Where SymPy gives up: deep, wide and sparse

SymPy's algorithms recurse over the expression tree, and its expressions are
trees: shared subexpressions are copied.  symdiff keeps a DAG, walks it with
loops, and emits straight-line code, so depth and size cost what they cost."""),
    md("## sin(sin(sin(... x ...))), 100,000 deep"),
    code("""
import sys, time
import numpy as np
import sympy
import symdiff as sd
from symdiff.examples import sin_exp_chain, rosenbrock

x = sympy.Symbol("x")
try:
    chain = x
    for _ in range(2000):
        chain = sympy.sin(chain)
    sympy.diff(chain, x)
except RecursionError:
    print(f"SymPy: RecursionError on a chain 2,000 deep (recursion limit {sys.getrecursionlimit()})")"""),
    code("""
depth = 100_000
text = "sin(" * depth + "x" + ")" * depth
start = time.perf_counter()
g = sd.grad(text, backend="python")
print(f"symdiff: gradient program of {len(g.program.body):,} lines in {time.perf_counter() - start:.1f} s")
print("d/dx at 1.0:", g(x=1.0)[0])"""),
    md("""The same number, independently: the derivative of a composition is the
product of the local derivatives along the chain, here cos of each inner value."""),
    code("""
value, product = 1.0, 1.0
for _ in range(depth):
    product *= np.cos(value)
    value = np.sin(value)
product"""),
    md("""
## Wide: Rosenbrock in 10,000 variables

SymPy's `diff` + `lambdify` takes seconds at 100 variables and minutes at
1,000.  symdiff's reverse mode makes one program for the whole gradient,
about as long as the function itself:"""),
    code("""
xs = sympy.symbols("x0:100")
start = time.perf_counter()
f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(99))
sympy.lambdify(xs, [sympy.diff(f, v) for v in xs], cse=True)
print(f"SymPy, n = 100:      {time.perf_counter() - start:.2f} s")

start = time.perf_counter()
g = sd.grad(rosenbrock(10_000), backend="python")
print(f"symdiff, n = 10,000: {time.perf_counter() - start:.2f} s, {len(g.program.body):,} lines")
at = {f"x{i}": 1.0 for i in range(10_000)}        # the minimum: the gradient is 0
print("largest |df/dx_i| at the minimum:", np.abs(g(**at)).max())"""),
    md("""
## Sparse: the banded Hessian

Rosenbrock's Hessian is tridiagonal.  With `sparse=True` symdiff builds only
the structurally nonzero entries (forward over reverse, each column's sweep
visiting just the nodes it reaches) and returns a `scipy.sparse` matrix:
time and memory grow like n, not n²."""),
    code("""
start = time.perf_counter()
H = sd.hessian(rosenbrock(10_000), sparse=True, backend="python")
M = H(**{f"x{i}": 0.5 for i in range(10_000)})
print(f"{type(M).__name__} {M.shape}, {M.nnz:,} nonzeros, {time.perf_counter() - start:.1f} s")
i = [s.name for s in H.wrt].index("x5")        # inputs are sorted by name: x0, x1, x10, ...
print("d2f/dx5^2 =", M[i, i], " by hand: 1200*x5^2 - 400*x6 + 202 =", 1200 * 0.25 - 400 * 0.5 + 202)"""),
    md("""
## Memory: checkpointing a deep chain

Reverse mode keeps the forward sweep's values for the reverse sweep.
`checkpoint=True` keeps every k-th (k about the square root of the length)
and recomputes the rest segment by segment: about one more forward sweep of
work for a fraction of the memory."""),
    code("""
plain = sd.grad(sin_exp_chain(2000), backend="python")
saved = sd.grad(sin_exp_chain(2000), backend="python", checkpoint=True)
print("values alive at once:", plain.program.peak_live(), "->", saved.program.peak_live())
print("operations:          ", len(plain.program.body), "->", len(saved.program.body))
print("same gradient:", plain(x=0.1) == saved(x=0.1))"""),
])


def build(name, cells, execute=True):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
                for kind, text in cells]
    if execute:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    names = sys.argv[1:] or list(NOTEBOOKS)
    for name in names:
        print("wrote", build(name, NOTEBOOKS[name]))
