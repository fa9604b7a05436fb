"""SymPy function classes for the activation functions SymPy lacks.

symdiff's node kinds are SymPy classes, so ``sigmoid``, ``relu``,
``leaky_relu`` and ``softplus`` need one each.  They stay unevaluated
symbols in SymPy output (readable LaTeX), carry derivatives that follow
symdiff's kink conventions, tell SymPy their sign on real arguments
(sigmoid and softplus are positive, relu nonnegative: ``Abs(sigmoid(x))`` is
``sigmoid(x)``), and can be rewritten into elementary functions with
``expr.rewrite(sympy.exp)`` / ``expr.rewrite(sympy.Piecewise)``.
"""

import sympy
from sympy.core.logic import fuzzy_and


class sigmoid(sympy.Function):
    """Logistic function 1 / (1 + exp(-x))."""

    nargs = 1

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):       # in (0, 1) for every real x
        return True if self.args[0].is_real else None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sympy.exp(-x))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp, deep=False)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        # exp: the power it is raised to, which SymPy's printer hands over as with sin^2
        power = "" if exp is None else "^{%s}" % exp
        return r"\sigma%s\left(%s\right)" % (power, printer._print(self.args[0]))


class relu(sympy.Function):
    """Rectified linear unit max(x, 0); relu'(0) = 0."""

    nargs = 1

    @classmethod
    def eval(cls, x):
        # a real number, pi or E is worked out (relu(-1) is 0), so that SymPy's functions of
        # it see a number (Mod of lgamma(relu(pi)) recursed for seconds)
        if x.is_Number and x.is_extended_real or x.is_NumberSymbol:
            return x if x.is_extended_positive else sympy.Integer(0)
        return None

    def fdiff(self, argindex=1):
        return sympy.Heaviside(self.args[0], 0)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_nonnegative(self):
        return True if self.args[0].is_real else None

    def _eval_rewrite_as_Piecewise(self, x, **kwargs):
        return sympy.Piecewise((x, x > 0), (0, True))

    def _eval_rewrite_as_Max(self, x, **kwargs):
        return sympy.Max(x, 0)

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.Max, deep=False)._eval_evalf(prec)


class leaky_relu(sympy.Function):
    """x for x > 0, slope*x otherwise; the derivative uses x > 0."""

    nargs = 2

    def fdiff(self, argindex=1):
        x, slope = self.args
        step = sympy.Heaviside(x, 0)
        if argindex == 1:
            return slope + (1 - slope) * step
        return sympy.Min(x, 0)

    def _eval_is_real(self):
        return fuzzy_and(a.is_real for a in self.args)

    def _eval_rewrite_as_Piecewise(self, x, slope, **kwargs):
        return sympy.Piecewise((x, x > 0), (slope * x, True))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.Piecewise, deep=False)._eval_evalf(prec)


class softplus(sympy.Function):
    """log(1 + exp(x)), computed without overflow."""

    nargs = 1

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):       # log(1 + exp(x)) > 0 for every real x
        return True if self.args[0].is_real else None

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    def _eval_rewrite_as_log(self, x, **kwargs):
        return sympy.log(1 + sympy.exp(x))

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp, deep=False)._eval_evalf(prec)
