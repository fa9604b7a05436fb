"""symdiff: symbolic differentiation that generates fast forward- and reverse-mode code.

>>> import symdiff as sd
>>> g = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], backend="python")
>>> g(a=2, b=1)
array([2., 5.])
"""

from .api import diff, grad, hessian, hvp, jacobian, jvp, value_and_grad, value_and_jacobian, vjp
from .check import check_grad
from .compare import compare, plot_scaling, scaling_study
from .display import show_graph
from .export import export
from .parse import ParseError, parse

__version__ = "0.1.0"

__all__ = ["ParseError", "check_grad", "compare", "diff", "export", "grad", "hessian", "hvp", "jacobian",
           "jvp", "parse", "plot_scaling", "scaling_study", "show_graph", "value_and_grad", "value_and_jacobian", "vjp"]
