"""The command line, run as a user runs it: a subprocess."""

import os
import subprocess
import sys

import pytest

import symdiff as sd


def run(*args):
    return subprocess.run([sys.executable, "-m", "symdiff.cli", *args], capture_output=True, text=True)


def test_grad_prints_value_and_gradient():
    r = run("grad", "(a+b)*(b+1)", "--wrt", "a,b", "--at", "a=2,b=1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:3] == ["f(a=2, b=1) = 6", "df/da = 2", "df/db = 5"]


def test_json_output_for_scripts():
    import json
    # colah's example by hand: f = (2+1)(1+1) = 6, df/da = b+1 = 2, df/db = (b+1) + (a+b) = 5
    r = run("grad", "(a+b)*(b+1)", "--wrt", "a,b", "--at", "a=2,b=1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"point": {"a": 2.0, "b": 1.0}, "value": 6.0,
                                    "gradient": {"a": 2.0, "b": 5.0}, "mode": "reverse", "backend": "python"}
    # d log(x) at 0 is inf: JSON has no infinity, so it is the string "inf" (strict parsers accept it)
    r = run("jacobian", "x*y; log(x)", "--at", "x=0,y=2", "--json")
    record = json.loads(r.stdout, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert record["formulas"] == ["x*y", "log(x)"] and record["wrt"] == ["x", "y"]
    assert record["jacobian"] == [[2.0, 0.0], ["inf", 0.0]]
    r = run("hessian", "x^3*y", "--at", "x=1,y=2", "--json")
    record = json.loads(r.stdout)
    assert record["hessian"] == [[12.0, 3.0], [3.0, 0.0]] and record["mode"] == "forward-over-reverse"
    r = run("grad", "log(x)", "--at", "x=-1", "--json")
    assert json.loads(r.stdout)["value"] == "nan" and json.loads(r.stdout)["gradient"] == {"x": -1.0}


def test_grad_with_numba_backend():
    r = run("grad", "apple*num*tax", "--at", "apple=100,num=2,tax=1.1", "--backend", "numba")
    assert r.returncode == 0, r.stderr
    assert "df/dapple = 2.2" in r.stdout and "df/dnum   = 110" in r.stdout


def test_hessian_and_jacobian_print_a_labelled_matrix():
    # hand-worked: f = x^3 y: f_xx = 6xy = 12, f_xy = 3x^2 = 3, f_yy = 0 at (1, 2)
    r = run("hessian", "x^3*y", "--at", "x=1,y=2")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [
        "Hessian of x^3*y at x=1, y=2 (forward-over-reverse mode, python backend):",
        "      d/dx  d/dy",
        "d/dx    12     3",
        "d/dy     3     0"]
    # d(xy) = (y, x) = (2, 0); d sin(x) = (cos 0, 0) = (1, 0); columns in --wrt order
    r = run("jacobian", "x*y; sin(x)", "--at", "x=0,y=2", "--wrt", "y,x", "--backend", "numba")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == [
        "        d/dy  d/dx",
        "x*y        0     2",
        "sin(x)     0     1"]
    r = run("hessian", "x*y", "--at", "x=1")
    assert r.returncode == 2 and "--at needs a value for 'y'" in r.stderr


def test_at_takes_constant_expressions():
    # sin(pi/4) * sqrt(2) = 1; d/dx = cos(pi/4) sqrt(2) = 1; d/dy = sin(pi/4) = 0.707...
    r = run("grad", "sin(x)*y", "--at", "x=pi/4,y=sqrt(2)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:4] == ["f(x=0.785398163397448, y=1.4142135623731) = 1", "df/dx = 1",
                                         "df/dy = 0.707106781186547", "(reverse mode, python backend)"]
    for bad in ("y+1", "1/0", "sqrt(-1)", "(("):
        r = run("grad", "sin(x)", "--at", f"x={bad}")
        assert r.returncode == 2 and r.stderr.strip() == (
            f"symdiff: error: --at: {bad!r} is not a number or a constant expression such as pi/4 (in 'x={bad}')")



def test_at_splits_at_commas_outside_parentheses():
    # atan2(1, 1) = pi/4 and max(2, 3) = 3: f = x^2*y, df/dy = x^2 = pi^2/16 = 0.6168...
    r = run("grad", "x^2*y", "--at", "x=atan2(1, 1),y=max(2,3)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "f(x=0.785398163397448, y=3) = 1.85055082520425"
    assert r.stdout.splitlines()[2] == "df/dy = 0.616850275068085"
    # several values for one variable: the message says --at is one point
    r = run("grad", "x^2", "--at", "x=1,2,3")
    assert r.returncode == 2 and "got '2' without a name: one value per variable" in r.stderr


def test_diff_prints_the_symbolic_derivative():
    r = run("diff", "x^2 + 2*x*y + y^2", "--wrt", "x")
    assert r.returncode == 0
    assert r.stdout.strip() == "d/dx: 2*x + 2*y"
    r = run("diff", "x^3*y", "--wrt", "x,y", "--order", "2")        # by hand: 6xy and 0
    assert r.returncode == 0 and r.stdout.splitlines() == ["d^2/dx^2: 6*x*y", "d^2/dy^2: 0"]
    r = run("diff", "x^3*y", "--order", "2")                        # no --wrt: every variable
    assert r.returncode == 0 and r.stdout.splitlines() == ["d^2/dx^2: 6*x*y", "d^2/dy^2: 0"]
    # a name ending in a digit: d^2/dx5^2, where d2/dx52 read as d/dx52 (by hand: 6 x5)
    r = run("diff", "x5^3", "--order", "2")
    assert r.returncode == 0 and r.stdout.splitlines() == ["d^2/dx5^2: 6*x5"]
    r = run("diff", "2*pi")
    assert r.returncode == 0 and r.stdout.strip() == "0 (the formula mentions no variable)"
    # every variable of a large formula from one parse and one sweep (it was a parse each:
    # 22 s for 1,000 variables); by hand, d/dx1 of the Rosenbrock sum in x0, x1, x2
    from symdiff.examples import rosenbrock
    import sympy
    r = run("diff", rosenbrock(3))
    x0, x1, x2 = sympy.symbols("x0 x1 x2")
    by_hand = {"d/dx0": -400 * x0 * (x1 - x0 ** 2) - 2 * (1 - x0),
               "d/dx1": 200 * (x1 - x0 ** 2) - 400 * x1 * (x2 - x1 ** 2) - 2 * (1 - x1),
               "d/dx2": 200 * (x2 - x1 ** 2)}
    printed = dict(line.split(": ") for line in r.stdout.splitlines())
    assert r.returncode == 0 and list(printed) == list(by_hand)
    assert all(sympy.expand(sympy.sympify(printed[k]) - by_hand[k]) == 0 for k in by_hand)
    r = run("diff", "x^3", "--wrt", "x", "--order", "0")
    assert r.returncode == 2 and r.stderr.strip() == "symdiff: error: --order must be 1 or more, not 0"


def test_source_prints_the_program():
    r = run("source", "(a+b)*(b+1)", "--wrt", "a,b", "--mode", "reverse")
    assert r.returncode == 0
    assert "def grad(a, b):" in r.stdout and "adj_b = t0 + t1" in r.stdout
    r = run("source", "x*y;sin(x)", "--kind", "jacobian", "--backend", "numba")
    assert "@numba.njit" in r.stdout and "def jacobian(x, y):" in r.stdout
    # the CUDA code is only written, so it needs no GPU
    r = run("source", "x*y", "--backend", "cuda")
    assert r.returncode == 0, r.stderr
    assert "@cuda.jit(device=True)" in r.stdout and "def grad_cuda_array(x, y, threads=256):" in r.stdout


def test_bad_formula_is_a_short_error_with_a_caret():
    r = run("grad", "(a+b))*2", "--at", "a=1,b=2")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert r.stderr.splitlines() == ["symdiff: error: unmatched ')' (at position 6)",
                                     "  (a+b))*2", "       ^"]


def test_a_bad_formula_among_several_is_named_and_pointed_at_in_the_whole_text():
    # the caret goes under the spot in the text as typed, not in the piece split off at ';'
    r = run("jacobian", "x*y;  y+;sin(x)", "--at", "x=1,y=2")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        "symdiff: error: formula 2 of 3: expected a number, a name or '(' but found the end of "
        "the formula (at position 9)", "  x*y;  y+;sin(x)", "          ^"]
    # an empty formula shows nothing of its own: the message says which one it is
    r = run("jacobian", "x;;y", "--at", "x=1,y=2")
    assert r.stderr.splitlines() == ["symdiff: error: formula 2 of 3 is empty (at position 3)", "  x;;y", "    ^"]
    r = run("source", "x; foo(y)", "--kind", "jacobian")
    assert r.stderr.splitlines() == ["symdiff: error: formula 2 of 2: unknown function 'foo' (at position 4)",
                                     "  x; foo(y)", "     ^"]


def test_a_comma_between_formulas_of_a_jacobian_says_to_use_a_semicolon():
    r = run("jacobian", "a*b, a+b", "--at", "a=1,b=2")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.splitlines() == [
        "symdiff: error: ',' outside a function call; separate the formulas with ';' (at position 4)",
        "  a*b, a+b", "     ^"]
    r = run("compare", "a*b; a+b, 1", "--no-timing")
    assert r.stderr.splitlines()[0] == ("symdiff: error: formula 2 of 2: ',' outside a function call; "
                                        "separate the formulas with ';' (at position 9)")
    # where one formula is all a command takes, the hint would mislead
    r = run("grad", "a*b, a+b", "--at", "a=1,b=2")
    assert r.stderr.splitlines()[0] == "symdiff: error: ',' outside a function call (at position 4)"


def test_symdiff_warnings_are_one_line_like_its_errors(tmp_path):
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(tmp_path), SYMDIFF_CACHE_MAX_MB="abc")
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "grad", "x^2", "--at", "x=3"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stdout.splitlines()[:2] == ["f(x=3) = 9", "df/dx = 6"]
    assert r.stderr == "symdiff: warning: SYMDIFF_CACHE_MAX_MB='abc' is not a number of megabytes; using 1000\n"


def test_ctrl_c_stops_quietly_with_status_130():
    import signal
    import time
    # waiting for a formula on stdin, the user thinks better of it.  The child starts with
    # SIGINT's default action, as at a terminal: a test run started in the background (`&`)
    # passes SIGINT on ignored, and Python then installs no KeyboardInterrupt handler.
    p = subprocess.Popen([sys.executable, "-m", "symdiff.cli", "grad", "-", "--at", "x=1"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(4)               # past the imports (0.6 s here), blocked reading stdin
    p.send_signal(signal.SIGINT)
    stdout, stderr = p.communicate(timeout=60)
    assert (p.returncode, stdout, stderr) == (130, "", "")


def _on_a_terminal(argv, env):
    """Run ``argv`` with stderr on a pseudo-terminal, as a user at a shell sees it: (stdout, stderr)."""
    master, slave = os.openpty()
    try:
        r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=slave, env=env, text=True, timeout=600)
    finally:
        os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:         # EIO: the terminal's other end is closed and everything read
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return r.stdout, seen.decode().replace("\r\n", "\n")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_a_terminal_is_told_when_numba_compiles_and_nothing_else_is(tmp_path):
    from symdiff.cli import _CompileNotice
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(tmp_path))        # no generated module cached yet
    grad = [sys.executable, "-m", "symdiff.cli", "grad", "x*sin(y) + 0.375", "--at", "x=2,y=0",
            "--backend", "numba"]
    # the first run compiles the formula's module: the terminal is told once, before the result
    stdout, stderr = _on_a_terminal(grad, env)
    assert stderr == _CompileNotice.TEXT + "\n"
    assert stdout.splitlines()[:3] == ["f(x=2, y=0) = 0.375", "df/dx = 0", "df/dy = 2"]
    # the next run loads the machine code from numba's cache: no compile, nothing said
    stdout, stderr = _on_a_terminal(grad, env)
    assert stderr == "" and "df/dy = 2" in stdout
    # a pipe is told nothing, even while numba compiles (a new formula)
    r = subprocess.run(grad[:4] + ["x*sin(y) + 0.625"] + grad[5:], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and r.stderr == "" and "f(x=2, y=0) = 0.625" in r.stdout
    # the python backend does not even import numba to listen
    probe = ("import sys; from symdiff import cli; "
             "cli.main(['grad', 'x^2', '--at', 'x=3']); print('numba' in sys.modules)")
    stdout, stderr = _on_a_terminal([sys.executable, "-c", probe], env)
    assert stderr == "" and stdout.splitlines() == ["f(x=3) = 9", "df/dx = 6", "(forward mode, python backend)",
                                                    "False"]


def test_bad_point_and_missing_values_are_short_errors():
    r = run("grad", "a*b", "--at", "a=1,b=x")
    assert r.returncode == 2 and "'x' is not a number" in r.stderr and "Traceback" not in r.stderr
    # the messages speak of --at, not of the library function the command calls
    r = run("grad", "a*b", "--at", "a=1")
    assert r.returncode == 2 and r.stderr.strip() == \
        "symdiff: error: --at needs a value for 'b' (the formula's variables: a, b)"
    for command in ("grad", "check", "graph"):
        r = run(command, "a*b", "--at", "a=1,b=2,c=3", *(["-o", "/dev/null"] if command == "graph" else []))
        assert r.returncode == 2 and r.stderr.strip() == ("symdiff: error: --at gives 'c', which is not a "
                                                          "variable of the formula (the formula's variables: a, b)")
    # a name given in place of a missing one is named too: it is most often a typo of it
    r = run("grad", "a*b", "--at", "A=1,b=2")
    assert r.returncode == 2 and r.stderr.strip() == ("symdiff: error: --at needs a value for 'a' (the formula's "
                                                      "variables: a, b); it gives 'A', which is not a variable")
    r = run("grad", "a*b", "--at", "a=1;b=2")
    assert r.returncode == 2 and r.stderr.strip().endswith("(in 'a=1;b=2'); separate the pairs with ',': x=1,y=2")
    r = run("grad", "a*b", "--at", "a=1,b=2, a=3")     # not silently the last one
    assert r.returncode == 2 and r.stderr.strip() == "symdiff: error: --at gives a twice"
    r = run("grad", "2", "--at", "x=1")
    assert r.returncode == 2 and r.stderr.strip().endswith("gives 'x', which is not a variable of the formula "
                                                           "(the formula has no variables)")


def test_a_wrt_variable_the_formula_lacks_is_listed_as_added_by_wrt():
    # z is an input (its derivative is 0), but not one of the formula's variables
    r = run("grad", "x*y", "--wrt", "x,z", "--at", "x=1,y=2")
    assert r.returncode == 2 and r.stderr.strip() == ("symdiff: error: --at needs a value for 'z' "
                                                      "(the formula's variables: x, y; --wrt adds z)")
    r = run("check", "x*y", "--wrt", "x,z", "--at", "x=1,y=2,z=3,q=1")
    assert r.returncode == 2 and r.stderr.strip() == ("symdiff: error: --at gives 'q', which is not a variable "
                                                      "of the formula (the formula's variables: x, y; --wrt adds z)")
    r = run("grad", "x*y", "--wrt", "x,z", "--at", "x=1,y=2,z=3")
    assert r.returncode == 0 and r.stdout.splitlines()[1:4] == ["df/dx = 2", "df/dz = 0",
                                                                "(reverse mode, python backend)"]


def test_grad_of_a_constant_says_there_is_nothing_to_differentiate():
    r = run("grad", "2^3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["f() = 8", "(no variables: nothing to differentiate)"]


def test_help_has_examples():
    for command in ("grad", "jacobian", "hessian", "diff", "source", "export", "compare", "graph", "check", "cache"):
        r = run(command, "--help")
        assert r.returncode == 0 and "example:" in r.stdout and "symdiff " + command in r.stdout


def test_cuda_without_a_gpu_is_a_short_error():
    from numba import cuda
    if cuda.is_available():
        import pytest
        pytest.skip("a GPU is present")
    r = run("grad", "x*y", "--at", "x=1,y=2", "--backend", "cuda")
    assert r.returncode == 2 and "needs an NVIDIA GPU" in r.stderr and "Traceback" not in r.stderr


def test_formula_from_a_file_or_standard_input(tmp_path):
    # 200 KB of formula: more than one command-line argument may hold (128 KB on Linux)
    from symdiff.examples import rosenbrock
    path = tmp_path / "rosenbrock.txt"
    path.write_text(rosenbrock(5000) + "\n")
    r = run("source", f"@{path}", "--wrt", "x0,x1")
    assert r.returncode == 0, r.stderr
    assert "def grad(x0, x1, " in r.stdout and "Returns (df/dx0, df/dx1)" in r.stdout
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "grad", "-", "--at", "a=2,b=1"],
                       input="(a+b)*(b+1)\n", capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:3] == ["f(a=2, b=1) = 6", "df/da = 2", "df/db = 5"]
    # a heading shows a long point by its first values and the count, not 5,000 of them on a line
    r = run("grad", f"@{path}", "--at", ",".join(f"x{i}=1" for i in range(5000)))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "f(x0=1, x1=1, x2=1, x3=1, x4=1, x5=1, x6=1, x7=1, ... (5000 in all)) = 0"
    # Rosenbrock's minimum; d/dx0 = -400 x0 (x1 - x0^2) - 2 (1 - x0) is -0 - 0 = -0 in IEEE arithmetic
    assert len(lines) == 5002 and lines[1:3] == ["df/dx0    = -0", "df/dx1    = 0"]
    r = run("export", f"@{path}", "-o", str(tmp_path / "rosenbrock_grad.py"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {tmp_path / 'rosenbrock_grad.py'} (grad, reverse mode, ")
    assert r.stdout.rstrip().endswith("inputs x0, x1, x10, x100, x1000, x1001, x1002, x1003, ... (5000 in all))")
    # a file saved with a byte-order mark and Windows line ends, and the same on standard input
    windows = tmp_path / "windows.txt"
    windows.write_bytes("\ufeff(a+b)*\r\n(b+1)\r\n".encode("utf-8"))
    r = run("grad", f"@{windows}", "--at", "a=2,b=1")
    assert r.returncode == 0 and r.stdout.splitlines()[0] == "f(a=2, b=1) = 6", r.stderr
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "grad", "-", "--at", "a=2,b=1"],
                       input=windows.read_bytes(), capture_output=True)
    assert r.returncode == 0 and r.stdout.decode().splitlines()[0] == "f(a=2, b=1) = 6", r.stderr
    r = run("grad", f"@{tmp_path / 'missing.txt'}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("symdiff: error: cannot read the formula from") and "missing.txt" in r.stderr
    # a file (or a pipe) that is not UTF-8 text: which one, and where
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("x*\u00e9t\u00e9".encode("latin-1"))
    r = run("grad", f"@{latin1}")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr == f"symdiff: error: cannot read the formula from {str(latin1)!r}: it is not UTF-8 text " \
                       "(byte 3 is 0xe9)\n"
    latin1.write_bytes(b"\xef\xbb\xbfx*\xe9")     # the position counts a byte-order mark
    assert run("grad", f"@{latin1}").stderr.endswith("it is not UTF-8 text (byte 6 is 0xe9)\n")
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "grad", "-", "--at", "x=1"], input=b"x + \xe9",
                       capture_output=True, env={**os.environ, "PYTHONIOENCODING": "utf-8:strict"})
    assert r.returncode == 2 and r.stderr.decode() == \
        "symdiff: error: cannot read the formula from standard input: it is not UTF-8 text (byte 5 is 0xe9)\n"
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "grad", "-", "--at", "x=1"], input=b"x + \xe9",
                       capture_output=True, env={**os.environ, "PYTHONIOENCODING": "utf-8:surrogateescape"})
    assert r.returncode == 2 and "unexpected byte 0xe9: the text is not UTF-8 (at position 5)" in r.stderr.decode()


def test_a_point_from_a_file_and_the_backend_by_program_length(tmp_path, monkeypatch):
    import io

    from symdiff import cli
    # a point too long for a command line comes from a file: pairs by commas or line ends
    point = tmp_path / "point.txt"
    point.write_text("a=2\nb=1\n")
    r = run("grad", "(a+b)*(b+1)", "--at", f"@{point}")
    assert r.returncode == 0 and r.stdout.splitlines()[:3] == ["f(a=2, b=1) = 6", "df/da = 2", "df/db = 5"]
    r = run("grad", "(a+b)*(b+1)", "--at", f"@{tmp_path / 'missing.txt'}")
    assert r.returncode == 2 and r.stderr.startswith("symdiff: error: cannot read the point from")
    # by default a program longer than PYTHON_STATEMENTS runs on numba's tape, and says so
    out = io.StringIO()
    assert cli.main(["grad", "sin(a*b) + a", "--at", "a=2,b=1"], out=out) == 0
    assert out.getvalue().rstrip().endswith("(reverse mode, python backend)")
    monkeypatch.setattr(cli, "PYTHON_STATEMENTS", 2)
    out = io.StringIO()
    assert cli.main(["hessian", "sin(a*b) + a", "--at", "a=2,b=1"], out=out) == 0
    assert "(forward-over-reverse mode, numba backend)" in out.getvalue()
    out = io.StringIO()
    assert cli.main(["grad", "sin(a*b) + a", "--at", "a=2,b=1", "--backend", "python"], out=out) == 0
    assert out.getvalue().rstrip().endswith("(reverse mode, python backend)")


def test_a_reader_that_stops_early_ends_it_quietly(tmp_path):
    # symdiff grad ... | head: the pipe closes under 3,000 lines of gradient; no error message
    from symdiff.examples import rosenbrock
    path = tmp_path / "rosenbrock.txt"
    path.write_text(rosenbrock(3000))
    at = ",".join(f"x{i}=0.5" for i in range(3000))
    p = subprocess.Popen([sys.executable, "-m", "symdiff.cli", "grad", f"@{path}", "--at", at],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.stdout.read(100).startswith(b"f(x0=0.5, x1=0.5")
    p.stdout.close()
    assert p.wait(timeout=120) == 141 and p.stderr.read() == b""


def test_a_formula_may_start_with_a_minus_sign():
    # plain argparse takes "-x^2" for an unknown option
    r = run("grad", "-x^2", "--at", "x=3")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == ["f(x=3) = -9", "df/dx = -6"]
    r = run("diff", "--wrt", "x", "-x*y")
    assert r.returncode == 0 and r.stdout.strip() == "d/dx: -y"
    r = run("grad", "x", "--at", "x=-2", "--bogus")       # real unknown options still fail
    assert r.returncode == 2 and "unrecognized arguments: --bogus" in r.stderr


def test_export_a_sparse_hessian(tmp_path):
    out = tmp_path / "hess.py"
    r = run("export", "x^2*y + y^3", "--kind", "hessian", "--sparse", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"wrote {out} (hessian, forward-over-reverse mode, ")
    text = out.read_text()
    assert "SPARSE_SHAPE = (2, 2)" in text and "hessian_array(x, y)" in text
    # the Jacobian of x*y and sin(x) is [[y, x], [cos(x), 0]]: one statement (cos), said in the singular
    r = run("export", "x*y; sin(x)", "--kind", "jacobian", "--mode", "reverse", "-o", str(tmp_path / "j.py"))
    assert r.stdout == f"wrote {tmp_path / 'j.py'} (jacobian, reverse mode, 1 statement; inputs x, y)\n", r.stderr
    r = run("export", "x^2*y", "--sparse", "-o", str(tmp_path / "g.py"))
    assert r.returncode == 2 and "sparse=True is for jacobian, value_and_jacobian and hessian" in r.stderr


def test_cache_shows_its_size_and_clears_only_its_own_files(tmp_path):
    import os
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(tmp_path))
    subprocess.run([sys.executable, "-c", "import symdiff as sd; sd.grad('x*y', backend='python')"],
                   env=env, check=True)
    (tmp_path / "notes.txt").write_text("not symdiff's")

    def cache(*args):
        r = subprocess.run([sys.executable, "-m", "symdiff.cli", "cache", *args], env=env,
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return r.stdout
    assert cache().startswith(f"{tmp_path}: 1 generated modules, ")
    assert len(list(tmp_path.glob("symdiff_gen_*.py"))) == 1
    assert cache("--clear").startswith("removed ")
    assert not list(tmp_path.rglob("*symdiff_gen_*"))        # modules, bytecode, numba's files
    assert (tmp_path / "notes.txt").exists()
    assert cache().startswith(f"{tmp_path}: 0 generated modules, 0.0 kB")


def test_graph_draws_with_values_at_a_point_and_with_formulas_without_one(tmp_path):
    r = run("graph", "(a+b)*(b+1)", "--at", "a=2,b=1", "--highlight", "b", "-o", str(tmp_path / "at.svg"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {tmp_path / 'at.svg'}; ∂f/∂b = 1·2 + 1·3 = 5"
    r = run("graph", "(a+b)*(b+1)", "--highlight", "b", "-o", str(tmp_path / "symbolic.svg"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"wrote {tmp_path / 'symbolic.svg'}; ∂f/∂b = (b + 1) + (a + b)"
    assert (tmp_path / "symbolic.svg").read_text().lstrip().startswith("<?xml")


def test_version_and_python_dash_m():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.strip() == f"symdiff {sd.__version__}"
    r = subprocess.run([sys.executable, "-m", "symdiff", "grad", "x^2", "--at", "x=3"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[:2] == ["f(x=3) = 9", "df/dx = 6"]


def test_compare_prints_the_programs_side_by_side():
    r = run("compare", "(a+b)*(b+1)", "--no-timing", "--programs")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-4:] == ["t0 = a + b       |  t0 = a + b",
                                          "t1 = b + 1.0     |  t1 = b + 1.0",
                                          "t2 = t0 + t1     |  adj_b = t0 + t1",
                                          "return (t1, t2)  |  return (t1, adj_b)"]


def test_diff_as_latex_and_as_json():
    import json
    # by hand: d/dx1 of x1^2*y + sin(y) is 2 x1 y, d/dy is x1^2 + cos(y); SymPy's LaTeX of them
    r = run("diff", "x1^2*y + sin(y)", "--latex")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [r"\frac{\partial f}{\partial x_{1}} = 2 x_{1} y",
                                     r"\frac{\partial f}{\partial y} = x_{1}^{2} + \cos{\left(y \right)}"]
    r = run("diff", "x^3*y", "--wrt", "x", "--order", "2", "--latex")         # 6 x y
    assert r.stdout.splitlines() == [r"\frac{\partial^{2} f}{\partial x^{2}} = 6 x y"]
    r = run("diff", "x^2*y", "--json")
    assert json.loads(r.stdout) == {"formula": "x^2*y", "order": 1, "derivatives": {"x": "2*x*y", "y": "x**2"}}
    r = run("diff", "2*pi", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["derivatives"] == {}


def test_compare_as_json():
    import json
    # the reason's example of test_compare: 2 inputs, 3 outputs, cost model 9 vs 5, one
    # operation each (cos x); both programs are counted, not timed
    r = run("compare", "x*y; x+y; sin(x)", "--no-timing", "--json")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert (record["formulas"], record["wrt"], record["outputs"]) == (["x*y", "x+y", "sin(x)"], ["x", "y"], 3)
    assert record["forward"] == {"ops": 1, "ops_by_kind": {"add": 0, "mul": 0, "div": 0, "transcendental": 1,
                                                          "compare": 0},
                                 "sweeps": 2, "peak_live": 1, "length": 1, "estimate": 9, "seconds": None}
    assert (record["reverse"]["sweeps"], record["reverse"]["estimate"], record["recommended"]) == (3, 5, "reverse")
    assert record["reason"].startswith("2 inputs and 3 outputs")
    r = run("compare", "(a+b)*(b+1)", "--no-timing", "--json", "--programs")
    assert "adj_b = t0 + t1" in json.loads(r.stdout)["programs"]


def test_check_as_json():
    import json
    import math
    # by hand: d/dx x*sin(y) = sin(y), d/dy = x*cos(y); at (1, 2)
    r = run("check", "x*sin(y)", "--at", "x=1,y=2", "--json")
    assert r.returncode == 0, r.stderr
    record = json.loads(r.stdout)
    assert record["ok"] is True and (record["checked"], record["of"], record["tolerance"]) == (2, 2, 1e-6)
    assert record["partials"]["x"]["forward"] == record["partials"]["x"]["reverse"] == math.sin(2)
    assert abs(record["partials"]["y"]["numeric"] - math.cos(2)) < 1e-8
    # floor's step at 1: the central difference is 1/(2h), the derivative 0, so exit status 1
    r = run("check", "floor(x)", "--at", "x=1", "--json")
    assert r.returncode == 1 and json.loads(r.stdout)["ok"] is False
    r = run("check", "x0*x1*x2", "--at", "x0=1,x1=2,x2=3", "--sample", "2", "--json")
    assert (json.loads(r.stdout)["checked"], json.loads(r.stdout)["of"]) == (2, 3)


def test_sparse_matrices_print_their_nonzeros_alone():
    import json
    # by hand: H of x^3*y + z is [[6xy, 3x^2, 0], [3x^2, 0, 0], [0, 0, 0]]; at x=1, y=2: 12 and 3
    r = run("hessian", "x^3*y + z", "--at", "x=1,y=2,z=3", "--sparse")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == ["3 structural nonzeros of 3 x 3",
                                         "d2f/dxdx = 12", "d2f/dxdy = 3", "d2f/dydx = 3"]
    r = run("hessian", "x^3*y + z", "--at", "x=1,y=2,z=3", "--sparse", "--json")
    assert json.loads(r.stdout)["hessian"] == {"shape": [3, 3], "rows": [0, 0, 1], "cols": [0, 1, 0],
                                               "values": [12.0, 3.0, 3.0]}
    # J of (x*y, sin(x), z) is [[y, x, 0], [cos(x), 0, 0], [0, 0, 1]]: x = 0 is a structural
    # nonzero that happens to be 0 at this point, and is listed
    r = run("jacobian", "x*y; sin(x); z", "--at", "x=0,y=2,z=1", "--sparse")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[1:] == ["4 structural nonzeros of 3 x 3 (f0, f1, ...: the formulas in order)",
                                         "df0/dx = 2", "df0/dy = 0", "df1/dx = 1", "df2/dz = 1"]


def test_a_dense_matrix_too_big_to_build_is_refused_before_it_is_built(monkeypatch):
    import io

    from symdiff import api, cli
    # 10^5 variables made a 10^10-entry Hessian that ran out of memory after 6 minutes; the
    # limit (10^7 entries) stands here at 8, so 3 x 3 is over it. By hand, the Hessian of
    # x^2*y + z^2 is [[2y, 2x, 0], [2x, 0, 0], [0, 0, 2]]: 4 structural nonzeros
    monkeypatch.setattr(api, "DENSE_WARNING_ENTRIES", 8)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["hessian", "x^2*y + z^2", "--at", "x=1,y=2,z=3"], out=out, err=err) == 2
    assert err.getvalue() == ("symdiff: error: a dense 3 x 3 Hessian has 9 entries, 4 of them not structurally "
                              "zero: too many to build (about 0 GB); --sparse evaluates the nonzeros alone\n")
    assert out.getvalue() == ""
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["hessian", "x^2*y + z^2", "--at", "x=1,y=2,z=3", "--sparse"], out=out, err=err) == 0
    assert "4 structural nonzeros of 3 x 3" in out.getvalue() and err.getvalue() == ""
    err = io.StringIO()
    assert cli.main(["export", "x*y; y; z; x", "--kind", "jacobian", "-o", "never.py"], out=out, err=err) == 2
    assert "a dense 4 x 3 Jacobian has 12 entries" in err.getvalue() and "--sparse exports" in err.getvalue()
    err = io.StringIO()
    assert cli.main(["source", "x^2*y + z^2", "--kind", "hessian"], out=out, err=err) == 2
    assert "--sparse writes the program of the nonzeros alone" in err.getvalue()
    out = io.StringIO()
    assert cli.main(["source", "x^2*y + z^2", "--kind", "hessian", "--sparse"], out=out) == 0
    assert "Returns (d2f/dxdx, d2f/dxdy, d2f/dydx, d2f/dzdz)." in out.getvalue()


def test_check_a_sample_of_the_partials():
    r = run("check", "x*sin(y) + z^2", "--at", "x=1,y=2,z=3", "--sample", "2")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 5 and lines[-1] == ("checked 2 of the 3 partial derivatives, chosen at random "
                                             "(seed 0); the others were not checked")
    r = run("check", "x", "--at", "x=1", "--sample", "0")
    assert r.returncode == 2 and r.stderr == "symdiff: error: --sample must be 1 or more, not 0\n"
    r = run("graph", "x", "-o", "never.svg", "--max-nodes", "0")
    assert r.returncode == 2 and r.stderr == "symdiff: error: --max-nodes must be 1 or more, not 0\n"
    # a point that is not finite cannot be stepped from: refused, in the command line's words
    r = run("check", "x^2*y", "--at", "x=inf,y=-1e999")
    assert r.returncode == 2
    assert r.stderr == "symdiff: error: --at gives x = inf, y = -inf: central differences need a finite point\n"
