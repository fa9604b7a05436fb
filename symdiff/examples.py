"""The formula families the tests, benchmarks and notebooks share.

>>> rosenbrock(3)
'100*(x1 - x0^2)^2 + (1 - x0)^2 + 100*(x2 - x1^2)^2 + (1 - x1)^2'
>>> sin_exp_chain(3)
'exp(sin(exp(x)))'
"""

#: UDL chapter 7's toy network with the least-squares loss, and its parameters.
TOY_NETWORK_LOSS = "(beta3 + omega3*cos(beta2 + omega2*exp(beta1 + omega1*sin(beta0 + omega0*x))) - y)^2"
TOY_NETWORK_PARAMETERS = ["beta0", "omega0", "beta1", "omega1", "beta2", "omega2", "beta3", "omega3"]


def rosenbrock(n):
    """The n-variable Rosenbrock function, sum of 100(x[i+1] - x[i]^2)^2 + (1 - x[i])^2."""
    return " + ".join(f"100*(x{i+1} - x{i}^2)^2 + (1 - x{i})^2" for i in range(n - 1))


def sin_exp_chain(depth):
    """exp, sin, exp, ... applied ``depth`` times to x: a chain ``depth`` deep."""
    text = "x"
    for k in range(depth):
        text = f"sin({text})" if k % 2 else f"exp({text})"
    return text


def fan_family(n, m, depth=10):
    """f: R^n -> R^m: n inputs mixed into one value, a chain of ``depth`` steps, m outputs.

    ``h = x1 + 2*x2 + ... + n*xn``, then ``h = sin(h)`` ``depth`` times, and
    output ``i`` is ``sin(i*h)``.  Forward mode carries n tangents through the
    chain, reverse mode m adjoints: the cheaper mode is the one with fewer
    directions, which is the classic lesson.
    """
    h = " + ".join(f"{k}*x{k}" for k in range(1, n + 1))
    for _ in range(depth):
        h = f"sin({h})"
    return [f"sin({i}*{h})" for i in range(1, m + 1)]
