/* symdiff's optional C core: the loops of text -> source, in C.
 *
 * symdiff works without this module: graph._PyGraph and the Python loops of
 * parse, reverse, lower, program and printing are the reference.  Where it is
 * built, graph.Graph derives from Core, whose methods do the common cases of
 * the graph's constructors -- add, mul, pow, neg, sub, div and number on nodes
 * and constants -- and the functions below run the loops of the parser
 * (parse_tokens, tokens), the reverse sweep (reverse_loop), forward mode's tangent
 * push (forward_loop), lowering (needed_nodes, schedule, lower_loop), the checker
 * (check_body) and the printer (infix_lines).  Each makes what the Python code
 * makes, node for node and line for line, and hands every case it does not do to
 * the Python code (graph._PyGraph.mul ..., given at import by install(); rules;
 * the Emitter).
 * tests/test_core.py builds the same formulas both ways and compares.
 *
 * Node ids are Python ints indexing the lists kind, args and data; a node's
 * kind is a str ("Add", "Number" ...).  An interface change bumps API here and
 * graph._CORE_API together.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *kind, *args, *data;       /* lists, one entry per node */
    PyObject *table;                    /* (kind, args) or a leaf's key -> node */
    PyObject *adds, *muls, *pows;       /* args -> node, for sums, products and powers */
    PyObject *minus_one;                /* the node -1, or None before it is made */
    PyObject *zero, *one;               /* the nodes 0 and 1 */
} Core;

/* the Python methods for the cases not done here, and interned strings */
static PyObject *py_mul, *py_pow, *py_number;
static PyObject *s_Number, *s_NumberSymbol, *s_Add, *s_Mul, *s_Pow;
static PyObject *s_adjoint, *s_tangent, *s_direction;      /* the tags of graph.hints */
static PyObject *int_zero, *int_one, *int_minus_one, *int_two, *float_two, *float_half, *float_minus_one;

/* ``v`` as a float; an int or Fraction past float64's range is inf of its sign, as IEEE
   arithmetic makes it (graph.to_float) */
static PyObject *float_or_inf(PyObject *v)
{
    PyObject *f = PyNumber_Float(v);
    if (f != NULL || !PyErr_ExceptionMatches(PyExc_OverflowError))
        return f;
    PyErr_Clear();
    int positive = PyObject_RichCompareBool(v, int_zero, Py_GT);
    if (positive < 0)
        return NULL;
    return PyFloat_FromDouble(positive ? Py_HUGE_VAL : -Py_HUGE_VAL);
}

/* ``op(a, b)`` on two constants (graph.fold): a float with an exact number past float64's
   range (0.5 + 4^520) raised OverflowError; it is worked in floats, where that number is inf */
static PyObject *fold(binaryfunc op, PyObject *a, PyObject *b)
{
    PyObject *r = op(a, b);
    if (r != NULL || !PyErr_ExceptionMatches(PyExc_OverflowError))
        return r;
    PyErr_Clear();
    PyObject *fa = float_or_inf(a);
    if (fa == NULL)
        return NULL;
    PyObject *fb = float_or_inf(b);
    if (fb == NULL) {
        Py_DECREF(fa);
        return NULL;
    }
    r = op(fa, fb);
    Py_DECREF(fa);
    Py_DECREF(fb);
    return r;
}

/* every 2^16 steps of a loop: 0, or -1 with KeyboardInterrupt (Ctrl-C) or another signal's error */
#define CHECK_SIGNALS(step) ((((step) & 0xFFFF) == 0) ? PyErr_CheckSignals() : 0)

static int is_kind(PyObject *k, PyObject *name)
{
    if (k == name)
        return 1;
    return PyUnicode_Check(k) && PyUnicode_Compare(k, name) == 0;
}

/* the item of list ``list`` at node ``v``, borrowed; NULL with IndexError */
static PyObject *item(PyObject *list, PyObject *v, Py_ssize_t *index)
{
    Py_ssize_t i = PyLong_AsSsize_t(v);
    if (i == -1 && PyErr_Occurred())
        return NULL;
    if (!PyList_Check(list) || i < 0 || i >= PyList_GET_SIZE(list)) {
        PyErr_Format(PyExc_IndexError, "node %zd is not in the graph", i);
        return NULL;
    }
    if (index)
        *index = i;
    return PyList_GET_ITEM(list, i);
}

/* a new node (kind, args, data); table[key] = its id.  New reference to the id. */
static PyObject *new_node(Core *self, PyObject *kind, PyObject *args, PyObject *key,
                          PyObject *data, PyObject *table)
{
    if (!PyList_Check(self->kind) || !PyList_Check(self->args) || !PyList_Check(self->data)) {
        PyErr_SetString(PyExc_TypeError, "the graph's kind, args and data must be lists");
        return NULL;
    }
    PyObject *node = PyLong_FromSsize_t(PyList_GET_SIZE(self->kind));
    if (node == NULL)
        return NULL;
    if (PyList_Append(self->kind, kind) < 0 || PyList_Append(self->args, args) < 0
            || PyList_Append(self->data, data) < 0 || PyObject_SetItem(table, key, node) < 0) {
        Py_DECREF(node);
        return NULL;
    }
    return node;
}

/* the node of ``key`` in ``table``, made as (kind, key, None) if new.  New reference. */
static PyObject *interned(Core *self, PyObject *kind, PyObject *key, PyObject *table)
{
    PyObject *node = PyDict_GetItemWithError(table, key);
    if (node != NULL) {
        Py_INCREF(node);
        return node;
    }
    if (PyErr_Occurred())
        return NULL;
    return new_node(self, kind, key, key, Py_None, table);
}

/* the sorted pair (a, b) of node ids.  New reference. */
static PyObject *sorted_pair(PyObject *a, PyObject *b)
{
    Py_ssize_t i = PyLong_AsSsize_t(a), j = PyLong_AsSsize_t(b);
    if ((i == -1 || j == -1) && PyErr_Occurred())
        return NULL;
    return i < j ? PyTuple_Pack(2, a, b) : PyTuple_Pack(2, b, a);
}

static PyObject *call_python(PyObject *fn, PyObject *self, PyObject *const *xs, Py_ssize_t n)
{
    PyObject *stack[8];
    if (n + 1 > 8) {
        PyObject *tuple = PyTuple_New(n + 1);
        if (tuple == NULL)
            return NULL;
        Py_INCREF(self);
        PyTuple_SET_ITEM(tuple, 0, self);
        for (Py_ssize_t k = 0; k < n; k++) {
            Py_INCREF(xs[k]);
            PyTuple_SET_ITEM(tuple, k + 1, xs[k]);
        }
        PyObject *result = PyObject_Call(fn, tuple, NULL);
        Py_DECREF(tuple);
        return result;
    }
    stack[0] = self;
    for (Py_ssize_t k = 0; k < n; k++)
        stack[k + 1] = xs[k];
    return PyObject_Vectorcall(fn, stack, n + 1, NULL);
}

/* data[v] == value (1 true, 0 false, -1 error) */
static int data_equals(Core *self, PyObject *v, PyObject *value, int op)
{
    PyObject *d = item(self->data, v, NULL);
    if (d == NULL)
        return -1;
    return PyObject_RichCompareBool(d, value, op);
}

/* ``y`` (borrowed) when node is Mul(-1, y), else Py_None; NULL on error */
static PyObject *negation_of(Core *self, PyObject *node)
{
    PyObject *k = item(self->kind, node, NULL);
    if (k == NULL)
        return NULL;
    if (!is_kind(k, s_Mul))
        return Py_None;
    PyObject *xs = item(self->args, node, NULL);
    if (xs == NULL)
        return NULL;
    if (!PyTuple_Check(xs) || PyTuple_GET_SIZE(xs) != 2)
        return Py_None;
    for (int side = 0; side < 2; side++) {
        PyObject *c = PyTuple_GET_ITEM(xs, side), *y = PyTuple_GET_ITEM(xs, 1 - side);
        PyObject *kc = item(self->kind, c, NULL);
        if (kc == NULL)
            return NULL;
        if (is_kind(kc, s_Number)) {
            int r = data_equals(self, c, int_minus_one, Py_EQ);
            if (r < 0)
                return NULL;
            if (r)
                return y;
        }
    }
    return Py_None;
}

static PyObject *Core_negation_of(Core *self, PyObject *node)
{
    PyObject *y = negation_of(self, node);
    Py_XINCREF(y);
    return y;
}

static PyObject *core_number(Core *self, PyObject *value);
static PyObject *core_mul2(Core *self, PyObject *a, PyObject *b);

static int compare_ids(const void *p, const void *q)
{
    Py_ssize_t a = *(const Py_ssize_t *)p, b = *(const Py_ssize_t *)q;
    return (a > b) - (a < b);
}

/* _PyGraph.add's general path: the constants added up (0 + c1 + c2 ...), the other
 * operands sorted by id, one Add node of them and the constant unless it is 0 */
static PyObject *add_general(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n == 1) {
        Py_INCREF(xs[0]);
        return xs[0];
    }
    Py_ssize_t *ids = PyMem_Malloc((n + 1) * sizeof(Py_ssize_t)), count = 0;
    if (ids == NULL)
        return PyErr_NoMemory();
    PyObject *constant = int_zero, *node = NULL, *key = NULL;
    Py_INCREF(constant);
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t i;
        PyObject *kind = item(self->kind, xs[k], &i);
        if (kind == NULL)
            goto done;
        if (is_kind(kind, s_Number)) {
            Py_SETREF(constant, fold(PyNumber_Add, constant, PyList_GET_ITEM(self->data, i)));
            if (constant == NULL)
                goto done;
        }
        else
            ids[count++] = i;
    }
    int nonzero = PyObject_RichCompareBool(constant, int_zero, Py_NE);
    if (nonzero < 0)
        goto done;
    if (nonzero || count == 0) {
        node = core_number(self, constant);
        if (node == NULL || count == 0)
            goto done;
        Py_ssize_t i = PyLong_AsSsize_t(node);
        Py_CLEAR(node);
        if (i == -1 && PyErr_Occurred())
            goto done;
        ids[count++] = i;
    }
    if (count == 1) {
        node = PyLong_FromSsize_t(ids[0]);
        goto done;
    }
    qsort(ids, count, sizeof(Py_ssize_t), compare_ids);
    key = PyTuple_New(count);
    if (key == NULL)
        goto done;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *id = PyLong_FromSsize_t(ids[k]);
        if (id == NULL)
            goto done;
        PyTuple_SET_ITEM(key, k, id);
    }
    node = interned(self, s_Add, key, self->adds);
done:
    Py_XDECREF(key);
    Py_XDECREF(constant);
    PyMem_Free(ids);
    return node;
}

static PyObject *Core_add(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n == 2) {
        PyObject *a = xs[0], *b = xs[1];
        PyObject *ka = item(self->kind, a, NULL), *kb = item(self->kind, b, NULL);
        if (ka == NULL || kb == NULL)
            return NULL;
        if (!is_kind(ka, s_Number) && !is_kind(kb, s_Number)) {
            for (int side = 0; side < 2; side++) {      /* x - x */
                PyObject *x = side ? b : a, *m = side ? a : b, *km = side ? ka : kb;
                if (is_kind(km, s_Mul)) {
                    PyObject *margs = item(self->args, m, NULL);
                    if (margs == NULL)
                        return NULL;
                    int r = PySequence_Contains(margs, x);      /* x in args[m], by value */
                    if (r < 0)
                        return NULL;
                    if (r) {
                        PyObject *y = negation_of(self, m);
                        if (y == NULL)
                            return NULL;
                        if (y != Py_None) {
                            int same = PyObject_RichCompareBool(y, x, Py_EQ);
                            if (same < 0)
                                return NULL;
                            if (same) {
                                Py_INCREF(self->zero);
                                return self->zero;
                            }
                        }
                    }
                }
            }
            PyObject *key = sorted_pair(a, b);
            if (key == NULL)
                return NULL;
            PyObject *node = interned(self, s_Add, key, self->adds);
            Py_DECREF(key);
            return node;
        }
    }
    return add_general(self, xs, n);
}

/* a * b, two nodes: the Python method's two-operand fast paths, else the Python method */
static PyObject *core_mul2(Core *self, PyObject *a, PyObject *b)
{
    PyObject *ka = item(self->kind, a, NULL), *kb = item(self->kind, b, NULL);
    if (ka == NULL || kb == NULL)
        return NULL;
    int na = is_kind(ka, s_Number), nb = is_kind(kb, s_Number);
    if (!na && !nb) {
        PyObject *key = sorted_pair(a, b);
        if (key == NULL)
            return NULL;
        PyObject *node = interned(self, s_Mul, key, self->muls);
        Py_DECREF(key);
        return node;
    }
    if (na != nb) {
        PyObject *cn = na ? a : b, *y = na ? b : a;
        PyObject *c = item(self->data, cn, NULL);
        if (c == NULL)
            return NULL;
        int r = PyObject_RichCompareBool(c, int_one, Py_EQ);
        if (r < 0)
            return NULL;
        if (r) {
            Py_INCREF(y);
            return y;
        }
        r = PyObject_RichCompareBool(c, int_zero, Py_NE);
        if (r < 0)
            return NULL;
        if (r) {
            PyObject *ky = item(self->kind, y, NULL);
            if (ky == NULL)
                return NULL;
            PyObject *yargs = is_kind(ky, s_Mul) ? item(self->args, y, NULL) : NULL;
            if (yargs != NULL && PyTuple_Check(yargs) && PyTuple_GET_SIZE(yargs) == 2) {
                /* c * (c2 * z) -> (c*c2) * z */
                for (int side = 0; side < 2; side++) {
                    PyObject *p = PyTuple_GET_ITEM(yargs, side), *q = PyTuple_GET_ITEM(yargs, 1 - side);
                    PyObject *kp = item(self->kind, p, NULL);
                    if (kp == NULL)
                        return NULL;
                    if (is_kind(kp, s_Number)) {
                        PyObject *c2 = item(self->data, p, NULL);
                        if (c2 == NULL)
                            return NULL;
                        PyObject *product = fold(PyNumber_Multiply, c, c2);
                        if (product == NULL)
                            return NULL;
                        PyObject *cc = core_number(self, product);
                        Py_DECREF(product);
                        if (cc == NULL)
                            return NULL;
                        PyObject *node = core_mul2(self, cc, q);
                        Py_DECREF(cc);
                        return node;
                    }
                }
            }
            else if (PyErr_Occurred())
                return NULL;
            PyObject *key = sorted_pair(cn, y);
            if (key == NULL)
                return NULL;
            PyObject *node = interned(self, s_Mul, key, self->muls);
            Py_DECREF(key);
            return node;
        }
    }
    if (na && nb) {         /* the general path's constant, 1 * a * b */
        PyObject *da = item(self->data, a, NULL), *db = item(self->data, b, NULL);
        if (da == NULL || db == NULL)
            return NULL;
        PyObject *partial = fold(PyNumber_Multiply, int_one, da);
        if (partial == NULL)
            return NULL;
        PyObject *product = fold(PyNumber_Multiply, partial, db);
        Py_DECREF(partial);
        if (product == NULL)
            return NULL;
        PyObject *node = core_number(self, product);
        Py_DECREF(product);
        return node;
    }
    PyObject *pair[2] = {a, b};
    return call_python(py_mul, (PyObject *)self, pair, 2);
}

static PyObject *Core_mul(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n == 2)
        return core_mul2(self, xs[0], xs[1]);
    return call_python(py_mul, (PyObject *)self, xs, n);
}

static PyObject *core_pow(Core *self, PyObject *base, PyObject *exponent)
{
    PyObject *ke = item(self->kind, exponent, NULL);
    if (ke == NULL)
        return NULL;
    if (is_kind(ke, s_Number)) {
        PyObject *c = item(self->data, exponent, NULL);
        if (c == NULL)
            return NULL;
        int r = PyObject_RichCompareBool(c, int_zero, Py_EQ);
        if (r < 0)
            return NULL;
        if (r) {
            Py_INCREF(self->one);
            return self->one;
        }
        r = PyObject_RichCompareBool(c, int_one, Py_EQ);
        if (r < 0)
            return NULL;
        if (r) {
            Py_INCREF(base);
            return base;
        }
        PyObject *kb = item(self->kind, base, NULL);
        if (kb == NULL)
            return NULL;
        if (!is_kind(kb, s_Number) && !is_kind(kb, s_NumberSymbol)) {
            PyObject *key = PyTuple_Pack(2, base, exponent);
            if (key == NULL)
                return NULL;
            PyObject *node = interned(self, s_Pow, key, self->pows);
            Py_DECREF(key);
            return node;
        }
    }
    PyObject *pair[2] = {base, exponent};
    return call_python(py_pow, (PyObject *)self, pair, 2);
}

static PyObject *Core_pow(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 2) {
        PyErr_Format(PyExc_TypeError, "pow() takes a base and an exponent, got %zd arguments", n);
        return NULL;
    }
    return core_pow(self, xs[0], xs[1]);
}

/* the node of a constant: int and float here, anything else by the Python method */
static PyObject *core_number(Core *self, PyObject *value)
{
    PyTypeObject *type = Py_TYPE(value);
    if (type != &PyLong_Type && type != &PyFloat_Type) {
        PyObject *pair[2] = {value, NULL};
        return call_python(py_number, (PyObject *)self, pair, 1);
    }
    PyObject *key = PyTuple_Pack(3, s_Number, (PyObject *)type, value);
    if (key == NULL)
        return NULL;
    PyObject *node = PyDict_GetItemWithError(self->table, key);
    if (node != NULL) {
        Py_INCREF(node);
        Py_DECREF(key);
        return node;
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) {
        Py_DECREF(key);
        return NULL;
    }
    node = new_node(self, s_Number, empty, key, value, self->table);
    Py_DECREF(empty);
    Py_DECREF(key);
    return node;
}

static PyObject *Core_number(Core *self, PyObject *value)
{
    return core_number(self, value);
}

static PyObject *minus_one_node(Core *self)
{
    if (self->minus_one == Py_None) {
        PyObject *m = core_number(self, int_minus_one);
        if (m == NULL)
            return NULL;
        Py_SETREF(self->minus_one, m);
    }
    return self->minus_one;     /* borrowed */
}

static PyObject *Core_neg(Core *self, PyObject *x)
{
    PyObject *m = minus_one_node(self);
    return m == NULL ? NULL : core_mul2(self, m, x);
}

static PyObject *Core_sub(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 2) {
        PyErr_Format(PyExc_TypeError, "sub() takes 2 nodes, got %zd", n);
        return NULL;
    }
    PyObject *m = minus_one_node(self);
    if (m == NULL)
        return NULL;
    PyObject *negated = core_mul2(self, m, xs[1]);
    if (negated == NULL)
        return NULL;
    PyObject *pair[2] = {xs[0], negated};
    PyObject *node = Core_add(self, pair, 2);
    Py_DECREF(negated);
    return node;
}

static PyObject *Core_div(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 2) {
        PyErr_Format(PyExc_TypeError, "div() takes 2 nodes, got %zd", n);
        return NULL;
    }
    PyObject *m = core_number(self, int_minus_one);
    if (m == NULL)
        return NULL;
    PyObject *reciprocal = core_pow(self, xs[1], m);
    Py_DECREF(m);
    if (reciprocal == NULL)
        return NULL;
    PyObject *node = core_mul2(self, xs[0], reciprocal);
    Py_DECREF(reciprocal);
    return node;
}

static PyObject *Core_new(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n < 3 || n > 5) {
        PyErr_SetString(PyExc_TypeError, "_new(kind, args, key, data=None, table=None)");
        return NULL;
    }
    PyObject *data = n > 3 ? xs[3] : Py_None;
    PyObject *table = n > 4 && xs[4] != Py_None ? xs[4] : self->table;
    return new_node(self, xs[0], xs[1], xs[2], data, table);
}

/* Graph.depends_on: which nodes of ``order`` (ascending ids) depend on any of ``sources``:
 * a bytearray over the node ids existing now (1 = depends, sources included) */
static PyObject *Core_depends_on(Core *self, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 2) {
        PyErr_SetString(PyExc_TypeError, "depends_on(order, sources)");
        return NULL;
    }
    if (!PyList_Check(self->kind) || !PyList_Check(self->args)) {
        PyErr_SetString(PyExc_TypeError, "depends_on: the graph's kind and args must be lists");
        return NULL;
    }
    Py_ssize_t size = PyList_GET_SIZE(self->kind);
    PyObject *active = PyByteArray_FromStringAndSize(NULL, size);
    if (active == NULL)
        return NULL;
    char *marks = PyByteArray_AS_STRING(active);
    memset(marks, 0, size);
    PyObject *it = PyObject_GetIter(xs[1]), *v;
    if (it == NULL)
        goto fail;
    while ((v = PyIter_Next(it)) != NULL) {
        Py_ssize_t i;
        PyObject *found = item(self->kind, v, &i);
        Py_DECREF(v);
        if (found == NULL) {
            Py_DECREF(it);
            goto fail;
        }
        marks[i] = 1;
    }
    Py_DECREF(it);
    if (PyErr_Occurred() || (it = PyObject_GetIter(xs[0])) == NULL)
        goto fail;
    while ((v = PyIter_Next(it)) != NULL) {
        Py_ssize_t i;
        PyObject *args = item(self->args, v, &i);
        Py_DECREF(v);
        if (args == NULL) {
            Py_DECREF(it);
            goto fail;
        }
        if (marks[i] || !PyTuple_Check(args))
            continue;
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(args); k++) {
            Py_ssize_t j;
            if (item(self->kind, PyTuple_GET_ITEM(args, k), &j) == NULL) {
                Py_DECREF(it);
                goto fail;
            }
            if (marks[j]) {
                marks[i] = 1;
                break;
            }
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        goto fail;
    return active;
fail:
    Py_DECREF(active);
    return NULL;
}

static PyMethodDef Core_methods[] = {
    {"add", (PyCFunction)(void (*)(void))Core_add, METH_FASTCALL, NULL},
    {"mul", (PyCFunction)(void (*)(void))Core_mul, METH_FASTCALL, NULL},
    {"pow", (PyCFunction)(void (*)(void))Core_pow, METH_FASTCALL, NULL},
    {"sub", (PyCFunction)(void (*)(void))Core_sub, METH_FASTCALL, NULL},
    {"div", (PyCFunction)(void (*)(void))Core_div, METH_FASTCALL, NULL},
    {"neg", (PyCFunction)Core_neg, METH_O, NULL},
    {"number", (PyCFunction)Core_number, METH_O, NULL},
    {"_negation_of", (PyCFunction)Core_negation_of, METH_O, NULL},
    {"_new", (PyCFunction)(void (*)(void))Core_new, METH_FASTCALL, NULL},
    {"depends_on", (PyCFunction)(void (*)(void))Core_depends_on, METH_FASTCALL, NULL},
    {NULL}
};

static PyMemberDef Core_members[] = {
    {"kind", T_OBJECT, offsetof(Core, kind), 0, NULL},
    {"args", T_OBJECT, offsetof(Core, args), 0, NULL},
    {"data", T_OBJECT, offsetof(Core, data), 0, NULL},
    {"_table", T_OBJECT, offsetof(Core, table), 0, NULL},
    {"_adds", T_OBJECT, offsetof(Core, adds), 0, NULL},
    {"_muls", T_OBJECT, offsetof(Core, muls), 0, NULL},
    {"_pows", T_OBJECT, offsetof(Core, pows), 0, NULL},
    {"_minus_one", T_OBJECT, offsetof(Core, minus_one), 0, NULL},
    {"zero", T_OBJECT, offsetof(Core, zero), 0, NULL},
    {"one", T_OBJECT, offsetof(Core, one), 0, NULL},
    {NULL}
};

static PyObject *Core_tp_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Core *self = (Core *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->kind = PyList_New(0);
    self->args = PyList_New(0);
    self->data = PyList_New(0);
    self->table = PyDict_New();
    self->adds = PyDict_New();
    self->muls = PyDict_New();
    self->pows = PyDict_New();
    Py_INCREF(Py_None);
    self->minus_one = Py_None;
    Py_INCREF(Py_None);
    self->zero = Py_None;
    Py_INCREF(Py_None);
    self->one = Py_None;
    if (!self->kind || !self->args || !self->data || !self->table || !self->adds || !self->muls
            || !self->pows) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static int Core_traverse(Core *self, visitproc visit, void *arg)
{
    Py_VISIT(self->kind);
    Py_VISIT(self->args);
    Py_VISIT(self->data);
    Py_VISIT(self->table);
    Py_VISIT(self->adds);
    Py_VISIT(self->muls);
    Py_VISIT(self->pows);
    Py_VISIT(self->minus_one);
    Py_VISIT(self->zero);
    Py_VISIT(self->one);
    return 0;
}

static int Core_clear(Core *self)
{
    Py_CLEAR(self->kind);
    Py_CLEAR(self->args);
    Py_CLEAR(self->data);
    Py_CLEAR(self->table);
    Py_CLEAR(self->adds);
    Py_CLEAR(self->muls);
    Py_CLEAR(self->pows);
    Py_CLEAR(self->minus_one);
    Py_CLEAR(self->zero);
    Py_CLEAR(self->one);
    return 0;
}

static void Core_dealloc(Core *self)
{
    PyObject_GC_UnTrack(self);
    Core_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject CoreType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "symdiff._graphcore.Core",
    .tp_basicsize = sizeof(Core),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "The graph's node table and its common-case constructors (see symdiff.graph).",
    .tp_new = Core_tp_new,
    .tp_traverse = (traverseproc)Core_traverse,
    .tp_clear = (inquiry)Core_clear,
    .tp_dealloc = (destructor)Core_dealloc,
    .tp_methods = Core_methods,
    .tp_members = Core_members,
};


/* -- the parser's loop ------------------------------------------------------------------
 * parse_tokens(graph, tokens, functions, constants, number_value, call_node) runs
 * symdiff.parse.parse_to_graph's operator-precedence loop over its tokens (the texts
 * _FAST_TOKEN finds, then "") and returns the root node, making the same nodes in the same
 * order.  At anything that is not a well-formed formula it returns None, and the Python
 * loop parses the text again, finding the nodes made so far already made, up to the
 * error it reports.  The names of functions, the constants (name -> SymPy constant) and
 * two helpers come from symdiff.parse: number_value(token) is the value of a number,
 * call_node(graph, name, args) the node of a call (None for a wrong count of arguments).
 */
enum { C_BOTTOM, C_PAREN, C_NEG, C_POS, C_ADD, C_SUB, C_MUL, C_DIV, C_POW, C_CALL };

typedef struct {
    int prec, code;
    PyObject *name;         /* a call's function name (borrowed from the tokens) */
    Py_ssize_t nargs;
} Pending;

typedef struct {
    PyObject **items;
    Py_ssize_t n, size;
} Nodes;

static int nodes_push(Nodes *out, PyObject *node)     /* steals the reference */
{
    if (out->n == out->size) {
        Py_ssize_t size = out->size ? 2 * out->size : 64;
        PyObject **items = PyMem_Realloc(out->items, size * sizeof(PyObject *));
        if (items == NULL) {
            Py_DECREF(node);
            PyErr_NoMemory();
            return -1;
        }
        out->items = items;
        out->size = size;
    }
    out->items[out->n++] = node;
    return 0;
}

static int infix_code(PyObject *tok, int *prec)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(tok);
    if (n == 1) {
        switch (PyUnicode_READ_CHAR(tok, 0)) {
        case '+': *prec = 1; return C_ADD;
        case '-': *prec = 1; return C_SUB;
        case '*': *prec = 2; return C_MUL;
        case '/': *prec = 2; return C_DIV;
        case '^': *prec = 4; return C_POW;
        }
    }
    else if (n == 2 && PyUnicode_READ_CHAR(tok, 0) == '*' && PyUnicode_READ_CHAR(tok, 1) == '*') {
        *prec = 4;
        return C_POW;
    }
    return 0;
}

static Py_UCS4 first_char(PyObject *tok)
{
    return PyUnicode_GET_LENGTH(tok) ? PyUnicode_READ_CHAR(tok, 0) : 0;
}

static int is_char(PyObject *tok, Py_UCS4 c)
{
    return PyUnicode_GET_LENGTH(tok) == 1 && PyUnicode_READ_CHAR(tok, 0) == c;
}

/* apply operator ``code`` to the top of ``out``: 0, or -1 on error */
static int reduce(Core *g, Nodes *out, int code)
{
    if (code == C_POS)
        return 0;
    if (code == C_NEG) {
        PyObject *node = Core_neg(g, out->items[out->n - 1]);
        if (node == NULL)
            return -1;
        Py_SETREF(out->items[out->n - 1], node);
        return 0;
    }
    PyObject *pair[2] = {out->items[out->n - 2], out->items[out->n - 1]};
    PyObject *node;
    switch (code) {
    case C_ADD: node = Core_add(g, pair, 2); break;
    case C_SUB: node = Core_sub(g, pair, 2); break;
    case C_MUL: node = core_mul2(g, pair[0], pair[1]); break;
    case C_DIV: node = Core_div(g, pair, 2); break;
    default: node = core_pow(g, pair[0], pair[1]); break;
    }
    if (node == NULL)
        return -1;
    out->n--;
    Py_DECREF(out->items[out->n]);
    Py_SETREF(out->items[out->n - 1], node);
    return 0;
}

static PyObject *parse_loop(Core *g, PyObject *toks, PyObject *functions, PyObject *constants,
                            PyObject *number_value, PyObject *call_node, Nodes *out,
                            Pending *stack, PyObject *symbols, PyObject *numbers)
{
    Py_ssize_t n_end = PyList_GET_SIZE(toks) - 1, top = 0, i = 0, operands = 0;
    stack[0].prec = -1;
    stack[0].code = C_BOTTOM;
#define TOK(k) ((k) <= n_end ? PyList_GET_ITEM(toks, (k)) : PyList_GET_ITEM(toks, n_end))
#define BAIL Py_RETURN_NONE
    for (;;) {
        /* -- an operand: number, name, call, '(' or a prefix sign -- */
        if (CHECK_SIGNALS(++operands) < 0)
            return NULL;
        PyObject *tok = TOK(i);
        if (!PyUnicode_Check(tok))
            BAIL;
        Py_UCS4 c = first_char(tok);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') {
            PyObject *node = PyDict_GetItemWithError(symbols, tok);
            if (node == NULL && PyErr_Occurred())
                return NULL;
            int call = is_char(TOK(i + 1), '(');
            if (node == NULL) {
                int known = PyDict_Contains(functions, tok);
                if (known < 0)
                    return NULL;
                if (call) {
                    if (!known || is_char(TOK(i + 2), ')'))
                        BAIL;
                    top++;
                    stack[top].prec = 0;
                    stack[top].code = C_CALL;
                    stack[top].name = tok;
                    stack[top].nargs = 0;
                    i += 2;
                    continue;
                }
                PyObject *value = PyDict_GetItemWithError(constants, tok);
                if (value != NULL) {
                    node = PyObject_CallMethod((PyObject *)g, "number_symbol", "O", value);
                    if (node == NULL)
                        return NULL;
                }
                else if (PyErr_Occurred())
                    return NULL;
                else if (known)
                    BAIL;
                else {
                    node = PyObject_CallMethod((PyObject *)g, "symbol", "O", tok);
                    if (node == NULL || PyDict_SetItem(symbols, tok, node) < 0) {
                        Py_XDECREF(node);
                        return NULL;
                    }
                }
            }
            else if (call)
                BAIL;
            else
                Py_INCREF(node);
            if (nodes_push(out, node) < 0)
                return NULL;
        }
        else if ((c >= '0' && c <= '9') || (c == '.' && PyUnicode_GET_LENGTH(tok) > 1)) {
            PyObject *node = PyDict_GetItemWithError(numbers, tok);
            if (node == NULL) {
                if (PyErr_Occurred())
                    return NULL;
                PyObject *value = PyObject_CallOneArg(number_value, tok);
                if (value == NULL)
                    return NULL;
                node = core_number(g, value);
                Py_DECREF(value);
                if (node == NULL || PyDict_SetItem(numbers, tok, node) < 0) {
                    Py_XDECREF(node);
                    return NULL;
                }
            }
            else
                Py_INCREF(node);
            if (nodes_push(out, node) < 0)
                return NULL;
        }
        else if (is_char(tok, '(') || is_char(tok, '-') || is_char(tok, '+')) {
            top++;
            stack[top].prec = c == '(' ? 0 : 3;
            stack[top].code = c == '(' ? C_PAREN : c == '-' ? C_NEG : C_POS;
            i++;
            continue;
        }
        else
            BAIL;
        i++;

        /* -- then operators, ')' and ',' until the next operand -- */
        for (;;) {
            tok = TOK(i);
            if (!PyUnicode_Check(tok))
                BAIL;
            int prec, code = infix_code(tok, &prec);
            if (code) {
                if (prec < 4)
                    while (stack[top].prec >= prec)
                        if (reduce(g, out, stack[top--].code) < 0)
                            return NULL;
                top++;
                stack[top].prec = prec;
                stack[top].code = code;
                i++;
                break;
            }
            int comma = is_char(tok, ',');
            if (comma || is_char(tok, ')')) {
                while (stack[top].prec > 0)
                    if (reduce(g, out, stack[top--].code) < 0)
                        return NULL;
                if (stack[top].code == C_BOTTOM)
                    BAIL;
                i++;
                if (comma) {
                    if (stack[top].code == C_PAREN)
                        BAIL;
                    stack[top].nargs++;
                    break;
                }
                Pending done = stack[top--];
                if (done.code == C_CALL) {
                    Py_ssize_t k = done.nargs + 1;
                    if (k > out->n)
                        BAIL;
                    PyObject *xs = PyTuple_New(k);
                    if (xs == NULL)
                        return NULL;
                    for (Py_ssize_t j = 0; j < k; j++)      /* the references move to xs */
                        PyTuple_SET_ITEM(xs, j, out->items[out->n - k + j]);
                    out->n -= k;
                    PyObject *node = PyObject_CallFunctionObjArgs(call_node, (PyObject *)g, done.name,
                                                                  xs, NULL);
                    Py_DECREF(xs);
                    if (node == NULL)
                        return NULL;
                    if (node == Py_None) {
                        Py_DECREF(node);
                        BAIL;
                    }
                    if (nodes_push(out, node) < 0)
                        return NULL;
                }
                continue;
            }
            if (i == n_end) {
                for (;;) {
                    Pending done = stack[top--];
                    if (done.code == C_BOTTOM) {
                        PyObject *root = out->items[out->n - 1];
                        Py_INCREF(root);
                        return root;
                    }
                    if (done.code == C_PAREN || done.code == C_CALL)
                        BAIL;
                    if (reduce(g, out, done.code) < 0)
                        return NULL;
                }
            }
            BAIL;
        }
    }
#undef TOK
#undef BAIL
}

/* tokens(text): for ASCII text, the list parse._FAST_TOKEN.findall(text) makes, then "" (the
 * end): numbers, names, '**', one-character operators and any other single character, the
 * spaces between them skipped; None for other text (the regular expression reads it). */
static int ascii_digit(Py_UCS1 c) { return c >= '0' && c <= '9'; }
static int name_start(Py_UCS1 c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }

static PyObject *tokens(PyObject *module, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "tokens(text): text must be a str");
        return NULL;
    }
    if (!PyUnicode_IS_ASCII(text))
        Py_RETURN_NONE;
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), i = 0;
    PyObject *list = PyList_New(0);
    if (list == NULL)
        return NULL;
    for (;;) {
        /* \s: ASCII space, \t, \n, \v, \f, \r and the separators \x1c-\x1f */
        while (i < n && (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r') || (s[i] >= 0x1c && s[i] <= 0x1f)))
            i++;
        if (i >= n)
            break;
        Py_ssize_t start = i;
        Py_UCS1 c = s[i];
        if (ascii_digit(c) || (c == '.' && i + 1 < n && ascii_digit(s[i + 1]))) {
            if (c == '.') {             /* \.[0-9]+ */
                i++;
                while (i < n && ascii_digit(s[i]))
                    i++;
            }
            else {                      /* [0-9]+\.?[0-9]* */
                while (i < n && ascii_digit(s[i]))
                    i++;
                if (i < n && s[i] == '.') {
                    i++;
                    while (i < n && ascii_digit(s[i]))
                        i++;
                }
            }
            /* (?:[eE][+-]?[0-9]+)? */
            if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                Py_ssize_t j = i + 1;
                if (j < n && (s[j] == '+' || s[j] == '-'))
                    j++;
                if (j < n && ascii_digit(s[j])) {
                    while (j < n && ascii_digit(s[j]))
                        j++;
                    i = j;
                }
            }
        }
        else if (name_start(c)) {
            while (i < n && (name_start(s[i]) || ascii_digit(s[i])))
                i++;
        }
        else if (c == '*' && i + 1 < n && s[i + 1] == '*')
            i += 2;
        else
            i++;                        /* an operator, or any other character */
        PyObject *token = PyUnicode_FromStringAndSize((const char *)s + start, i - start);
        if (token == NULL || PyList_Append(list, token) < 0) {
            Py_XDECREF(token);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(token);
    }
    PyObject *end = PyUnicode_FromStringAndSize("", 0);
    if (end == NULL || PyList_Append(list, end) < 0) {
        Py_XDECREF(end);
        Py_DECREF(list);
        return NULL;
    }
    Py_DECREF(end);
    return list;
}

static PyObject *parse_tokens(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 6 || !PyObject_TypeCheck(xs[0], &CoreType) || !PyList_Check(xs[1])
            || PyList_GET_SIZE(xs[1]) < 1 || !PyDict_Check(xs[2]) || !PyDict_Check(xs[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "parse_tokens(graph, tokens, functions, constants, number_value, call_node)");
        return NULL;
    }
    /* every token pushes at most one entry: the stack never holds more than the tokens */
    Py_ssize_t size = PyList_GET_SIZE(xs[1]) + 1;
    Pending *stack = PyMem_Malloc(size * sizeof(Pending));
    PyObject *symbols = PyDict_New(), *numbers = PyDict_New();
    Nodes out = {NULL, 0, 0};
    PyObject *root = NULL;
    if (stack == NULL || symbols == NULL || numbers == NULL)
        PyErr_NoMemory();
    else
        root = parse_loop((Core *)xs[0], xs[1], xs[2], xs[3], xs[4], xs[5], &out, stack, symbols,
                          numbers);
    for (Py_ssize_t k = 0; k < out.n; k++)
        Py_DECREF(out.items[k]);
    PyMem_Free(out.items);
    PyMem_Free(stack);
    Py_XDECREF(symbols);
    Py_XDECREF(numbers);
    return root;
}

/* -- the reverse sweep's loop -------------------------------------------------------------
 * reverse_loop(graph, pending, active, wanted, cache, partials_of, top, adjoint) runs the
 * loop of symdiff.reverse.sweep over the nodes top, top - 1, ..., 0 (the path that walks
 * every id), making the same nodes in the same order: sums and binary products inline,
 * every other node's partials from partials_of(graph, cache, v).
 */
static int send(PyObject *pending, PyObject *node, PyObject *term)
{
    Py_ssize_t i = PyLong_AsSsize_t(node);
    if (i == -1 && PyErr_Occurred())
        return -1;
    if (i < 0 || i >= PyList_GET_SIZE(pending)) {
        PyErr_Format(PyExc_IndexError, "node %zd has no adjoint slot", i);
        return -1;
    }
    PyObject *terms = PyList_GET_ITEM(pending, i);
    if (terms == Py_None) {
        PyObject *fresh = PyList_New(1);
        if (fresh == NULL)
            return -1;
        Py_INCREF(term);
        PyList_SET_ITEM(fresh, 0, term);
        PyList_SET_ITEM(pending, i, fresh);     /* the list held None: a borrowed singleton */
        Py_DECREF(terms);
        return 0;
    }
    return PyList_Append(terms, term);
}

static int is_active(PyObject *active, PyObject *node)
{
    Py_ssize_t i = PyLong_AsSsize_t(node);
    if (i == -1 && PyErr_Occurred())
        return -1;
    Py_ssize_t n = PyByteArray_GET_SIZE(active);
    if (i < 0 || i >= n) {
        PyErr_Format(PyExc_IndexError, "node %zd is not marked active or not", i);
        return -1;
    }
    return PyByteArray_AS_STRING(active)[i] != 0;
}

static int send_product(Core *g, PyObject *pending, PyObject *active, PyObject *arg, PyObject *a,
                        PyObject *factor)
{
    int r = is_active(active, arg);
    if (r <= 0)
        return r;
    PyObject *term = core_mul2(g, a, factor);
    if (term == NULL)
        return -1;
    r = send(pending, arg, term);
    Py_DECREF(term);
    return r;
}

/* the partials of node v = x ** y (args), memoised in cache as forward.partials_of keeps
 * them: rules._pow's for a constant exponent, made here (pow_rule: rules.RULES["Pow"] is
 * rules._pow), and the Python rule's for any other.  New reference. */
static PyObject *python_partials;      /* forward.partials_of, for the other cases */

static PyObject *power_partials(Core *g, PyObject *cache, PyObject *v, PyObject *args)
{
    PyObject *known = PyDict_GetItemWithError(cache, v);
    if (known != NULL) {
        Py_INCREF(known);
        return known;
    }
    if (PyErr_Occurred())
        return NULL;
    PyObject *x = PyTuple_GET_ITEM(args, 0), *y = PyTuple_GET_ITEM(args, 1);
    PyObject *ky = item(g->kind, y, NULL);
    if (ky == NULL)
        return NULL;
    if (!is_kind(ky, s_Number))
        return PyObject_CallFunctionObjArgs(python_partials, (PyObject *)g, cache, v, NULL);
    PyObject *c = item(g->data, y, NULL);
    if (c == NULL)
        return NULL;
    PyObject *dx = NULL;
    int r;
    if ((r = PyObject_RichCompareBool(c, float_two, Py_EQ)) != 0) {
        if (r < 0)
            return NULL;
        PyObject *two = core_number(g, int_two);                   /* 2 * x */
        if (two == NULL)
            return NULL;
        dx = core_mul2(g, two, x);
        Py_DECREF(two);
    }
    else if ((r = PyObject_RichCompareBool(c, float_half, Py_EQ)) != 0) {
        if (r < 0)
            return NULL;
        /* 1/2 * out^-1: 1 / (2 sqrt(x)), inf at 0 -- its constants by the Python method */
        return PyObject_CallFunctionObjArgs(python_partials, (PyObject *)g, cache, v, NULL);
    }
    else if ((r = PyObject_RichCompareBool(c, float_minus_one, Py_EQ)) != 0) {
        if (r < 0)
            return NULL;
        PyObject *two = core_number(g, int_two);                   /* -(out^2) */
        if (two == NULL)
            return NULL;
        PyObject *square = core_pow(g, v, two);
        Py_DECREF(two);
        if (square == NULL)
            return NULL;
        dx = Core_neg(g, square);
        Py_DECREF(square);
    }
    else {
        PyObject *lower = PyNumber_Subtract(c, int_one);           /* y * x^(y-1) */
        if (lower == NULL)
            return NULL;
        PyObject *e = core_number(g, lower);
        Py_DECREF(lower);
        if (e == NULL)
            return NULL;
        PyObject *power = core_pow(g, x, e);
        Py_DECREF(e);
        if (power == NULL)
            return NULL;
        dx = core_mul2(g, y, power);
        Py_DECREF(power);
    }
    if (dx == NULL)
        return NULL;
    PyObject *partials = PyList_New(2);
    if (partials == NULL) {
        Py_DECREF(dx);
        return NULL;
    }
    PyList_SET_ITEM(partials, 0, dx);
    Py_INCREF(Py_None);
    PyList_SET_ITEM(partials, 1, Py_None);
    if (PyDict_SetItem(cache, v, partials) < 0) {
        Py_DECREF(partials);
        return NULL;
    }
    return partials;
}

static PyObject *reverse_loop(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 9 || !PyObject_TypeCheck(xs[0], &CoreType) || !PyList_Check(xs[1])
            || !PyByteArray_Check(xs[2]) || !PyDict_Check(xs[4]) || !PyDict_Check(xs[7])) {
        PyErr_SetString(PyExc_TypeError, "reverse_loop(graph, pending, active, wanted, cache, "
                                         "partials_of, top, adjoint, pow_rule)");
        return NULL;
    }
    Core *g = (Core *)xs[0];
    PyObject *pending = xs[1], *active = xs[2], *wanted = xs[3], *cache = xs[4];
    PyObject *partials_of = xs[5], *adjoint = xs[7];
    int pow_rule = PyObject_IsTrue(xs[8]);
    if (pow_rule < 0)
        return NULL;
    Py_INCREF(partials_of);
    Py_XSETREF(python_partials, partials_of);
    Py_ssize_t top = PyLong_AsSsize_t(xs[6]);
    if (top == -1 && PyErr_Occurred())
        return NULL;
    PyObject *hints = PyObject_GetAttrString((PyObject *)g, "hints");
    if (hints == NULL)
        return NULL;
    if (!PyDict_Check(hints) || !PyList_Check(g->kind) || !PyList_Check(g->args)
            || top >= PyList_GET_SIZE(pending)) {
        Py_DECREF(hints);
        PyErr_SetString(PyExc_TypeError, "reverse_loop: a graph's hints, kind and args, and a "
                                         "pending list as long as the graph");
        return NULL;
    }
    Py_ssize_t first_new = PyList_GET_SIZE(pending);
    int failed = 0;
    for (Py_ssize_t i = top; i >= 0 && !failed; i--) {
        if (CHECK_SIGNALS(i) < 0) {
            failed = 1;
            break;
        }
        PyObject *terms = PyList_GET_ITEM(pending, i);
        if (terms == Py_None)
            continue;
        Py_INCREF(terms);
        Py_INCREF(Py_None);
        PyList_SET_ITEM(pending, i, Py_None);
        Py_DECREF(terms);       /* the list's reference; ours keeps it */
        PyObject *v = NULL, *a = NULL;
        failed = 1;
        do {
            v = PyLong_FromSsize_t(i);
            if (v == NULL)
                break;
            Py_ssize_t k = PyList_GET_SIZE(terms);
            if (k == 1) {
                a = PyList_GET_ITEM(terms, 0);
                Py_INCREF(a);
            }
            else
                a = Core_add(g, ((PyListObject *)terms)->ob_item, k);
            if (a == NULL)
                break;
            int r = PySequence_Contains(wanted, v);
            if (r < 0 || (r && PyDict_SetItem(adjoint, v, a) < 0))
                break;
            Py_ssize_t ai = PyLong_AsSsize_t(a);
            if (ai == -1 && PyErr_Occurred())
                break;
            if (ai >= first_new) {
                r = PyDict_Contains(hints, a);
                if (r < 0)
                    break;
                if (!r) {
                    PyObject *hint = PyTuple_Pack(2, s_adjoint, v);
                    if (hint == NULL || PyDict_SetItem(hints, a, hint) < 0) {
                        Py_XDECREF(hint);
                        break;
                    }
                    Py_DECREF(hint);
                }
            }
            PyObject *args = PyList_GET_ITEM(g->args, i), *kind = PyList_GET_ITEM(g->kind, i);
            if (!PyTuple_Check(args))
                break;
            Py_ssize_t nargs = PyTuple_GET_SIZE(args);
            if (nargs == 0) {
                failed = 0;
                break;
            }
            if (is_kind(kind, s_Add)) {
                Py_ssize_t j;
                for (j = 0; j < nargs; j++) {
                    PyObject *arg = PyTuple_GET_ITEM(args, j);
                    r = is_active(active, arg);
                    if (r < 0 || (r && send(pending, arg, a) < 0))
                        break;
                }
                failed = j < nargs;
                break;
            }
            if (is_kind(kind, s_Mul) && nargs == 2) {
                PyObject *x = PyTuple_GET_ITEM(args, 0), *y = PyTuple_GET_ITEM(args, 1);
                failed = send_product(g, pending, active, x, a, y) < 0
                         || send_product(g, pending, active, y, a, x) < 0;
                break;
            }
            PyObject *partials = NULL;
            if (pow_rule && is_kind(kind, s_Pow) && nargs == 2)
                partials = power_partials(g, cache, v, args);
            else
                partials = PyObject_CallFunctionObjArgs(partials_of, (PyObject *)g, cache, v, NULL);
            if (partials == NULL)
                break;
            PyObject *seq = PySequence_Fast(partials, "partials must be a sequence");
            Py_DECREF(partials);
            if (seq == NULL)
                break;
            Py_ssize_t np = PySequence_Fast_GET_SIZE(seq), j;
            if (np > nargs)
                np = nargs;     /* zip() */
            for (j = 0; j < np; j++) {
                PyObject *p = PySequence_Fast_GET_ITEM(seq, j);
                if (p != Py_None && send_product(g, pending, active, PyTuple_GET_ITEM(args, j), a, p) < 0)
                    break;
            }
            Py_DECREF(seq);
            failed = j < np;
        } while (0);
        Py_XDECREF(v);
        Py_XDECREF(a);
        Py_DECREF(terms);
    }
    Py_DECREF(hints);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

/* -- forward mode's loop ------------------------------------------------------------------
 * forward_loop(graph, order, outputs, carried, sources, cache, partials_of, ranks, pow_rule)
 * runs the loop of symdiff.forward._push over the nodes of order (ascending ids), making the
 * same nodes in the same order.  carried maps a node to its tangents ({direction: node}):
 * the seeds' on entry, and on return what _push returns.  Sums and binary products are
 * inline, powers of a constant as rules._pow makes them (pow_rule, as in reverse_loop), every
 * other node's partials from partials_of(graph, cache, v).  A tangent made here gets the hint
 * _push's named() gives it; ranks (a dict, or None) receives v for every node made at v.
 */
static int append_term(PyObject *terms, PyObject *d, PyObject *t)    /* terms.setdefault(d, []).append(t) */
{
    PyObject *list = PyDict_GetItemWithError(terms, d);
    if (list == NULL) {
        if (PyErr_Occurred())
            return -1;
        list = PyList_New(0);
        if (list == NULL)
            return -1;
        int r = PyDict_SetItem(terms, d, list);
        Py_DECREF(list);        /* terms holds it */
        if (r < 0)
            return -1;
    }
    return PyList_Append(list, t);
}

/* tangent[d] = named(g.add(*ts), v, d): the sum, with its hint if it is new and has none */
static int set_sum(Core *g, PyObject *tangent, PyObject *d, PyObject *ts, PyObject *v, PyObject *hints,
                   PyObject *sources, Py_ssize_t first_new)
{
    PyObject *t = Core_add(g, ((PyListObject *)ts)->ob_item, PyList_GET_SIZE(ts));
    if (t == NULL)
        return -1;
    int failed = 1;
    do {
        Py_ssize_t ti = PyLong_AsSsize_t(t);
        if (ti == -1 && PyErr_Occurred())
            break;
        if (ti >= first_new) {
            int r = PyDict_Contains(hints, t);
            if (r < 0)
                break;
            if (!r) {
                PyObject *source = PyObject_GetItem(sources, d);
                if (source == NULL)
                    break;
                PyObject *hint = source == Py_None ? PyTuple_Pack(2, s_direction, v)
                                                   : PyTuple_Pack(3, s_tangent, v, source);
                Py_DECREF(source);
                if (hint == NULL)
                    break;
                r = PyDict_SetItem(hints, t, hint);
                Py_DECREF(hint);
                if (r < 0)
                    break;
            }
        }
        failed = PyDict_SetItem(tangent, d, t) < 0;
    } while (0);
    Py_DECREF(t);
    return failed ? -1 : 0;
}

/* one node v (index i) of _push's loop that carries tangents in: its own into *out (a new
 * dict, maybe empty); heir's map is taken over for a sum */
static PyObject *push_node(Core *g, PyObject *v, PyObject *args, PyObject *carried, Py_ssize_t *uses,
                           PyObject *cache, PyObject *partials_of, int pow_rule, PyObject *hints,
                           PyObject *sources, Py_ssize_t first_new)
{
    Py_ssize_t nargs = PyTuple_GET_SIZE(args);
    PyObject *kind = PyList_GET_ITEM(g->kind, PyLong_AsSsize_t(v));
    PyObject *terms = PyDict_New(), *tangent = NULL, *d, *t, *ts;
    if (terms == NULL)
        return NULL;
    if (is_kind(kind, s_Add)) {
        /* a sum's partials are 1; a direction only one term carries keeps that term's tangent,
         * and the tangents go into the largest map this sum was the last user of (the first
         * of the largest, as max() finds it) */
        Py_ssize_t heir = -1, best = -1, heir_index = -1;
        for (Py_ssize_t j = 0; j < nargs; j++) {
            PyObject *a = PyTuple_GET_ITEM(args, j), *m = PyDict_GetItemWithError(carried, a);
            if (m == NULL) {
                if (PyErr_Occurred())
                    goto fail;
                continue;
            }
            Py_ssize_t ai = PyLong_AsSsize_t(a);       /* checked by forward_loop's first pass */
            if (uses[ai] == 0 && PyDict_GET_SIZE(m) > best) {
                best = PyDict_GET_SIZE(m);
                heir = j;
                heir_index = ai;
            }
        }
        int inherited = 0;
        for (Py_ssize_t j = 0; j < nargs; j++) {
            PyObject *a = PyTuple_GET_ITEM(args, j), *m = PyDict_GetItemWithError(carried, a);
            if (m == NULL) {
                if (PyErr_Occurred())
                    goto fail;
                continue;
            }
            if (heir >= 0 && !inherited && PyLong_AsSsize_t(a) == heir_index) {
                inherited = 1;      /* once: in x + x the heir counts twice */
                continue;
            }
            Py_ssize_t pos = 0;
            while (PyDict_Next(m, &pos, &d, &t))
                if (append_term(terms, d, t) < 0)
                    goto fail;
        }
        if (heir >= 0) {
            PyObject *a = PyTuple_GET_ITEM(args, heir);
            tangent = PyDict_GetItemWithError(carried, a);
            if (tangent == NULL)
                goto fail;
            Py_INCREF(tangent);
            if (PyDict_DelItem(carried, a) < 0)
                goto fail;
        }
        else if ((tangent = PyDict_New()) == NULL)
            goto fail;
        Py_ssize_t pos = 0;
        while (PyDict_Next(terms, &pos, &d, &ts)) {
            PyObject *own = PyDict_GetItemWithError(tangent, d);
            if (own != NULL) {
                if (PyList_Append(ts, own) < 0)
                    goto fail;
            }
            else if (PyErr_Occurred())
                goto fail;
            else if (PyList_GET_SIZE(ts) == 1) {
                if (PyDict_SetItem(tangent, d, PyList_GET_ITEM(ts, 0)) < 0)
                    goto fail;
                continue;
            }
            if (set_sum(g, tangent, d, ts, v, hints, sources, first_new) < 0)
                goto fail;
        }
    }
    else {
        PyObject *partials;
        if (is_kind(kind, s_Mul) && nargs == 2)     /* rules._mul: each factor's is the other */
            partials = PyTuple_Pack(2, PyTuple_GET_ITEM(args, 1), PyTuple_GET_ITEM(args, 0));
        else if (pow_rule && is_kind(kind, s_Pow) && nargs == 2)
            partials = power_partials(g, cache, v, args);
        else
            partials = PyObject_CallFunctionObjArgs(partials_of, (PyObject *)g, cache, v, NULL);
        if (partials == NULL)
            goto fail;
        PyObject *seq = PySequence_Fast(partials, "partials must be a sequence");
        Py_DECREF(partials);
        if (seq == NULL)
            goto fail;
        Py_ssize_t np = PySequence_Fast_GET_SIZE(seq);
        if (np > nargs)
            np = nargs;     /* zip() */
        for (Py_ssize_t j = 0; j < np; j++) {
            PyObject *p = PySequence_Fast_GET_ITEM(seq, j);
            if (p == Py_None)
                continue;
            PyObject *m = PyDict_GetItemWithError(carried, PyTuple_GET_ITEM(args, j));
            if (m == NULL) {
                if (PyErr_Occurred()) {
                    Py_DECREF(seq);
                    goto fail;
                }
                continue;
            }
            Py_ssize_t pos = 0;
            while (PyDict_Next(m, &pos, &d, &t)) {
                PyObject *product = core_mul2(g, p, t);
                int r = product == NULL ? -1 : append_term(terms, d, product);
                Py_XDECREF(product);
                if (r < 0) {
                    Py_DECREF(seq);
                    goto fail;
                }
            }
        }
        Py_DECREF(seq);
        if ((tangent = PyDict_New()) == NULL)
            goto fail;
        Py_ssize_t pos = 0;
        while (PyDict_Next(terms, &pos, &d, &ts))
            if (set_sum(g, tangent, d, ts, v, hints, sources, first_new) < 0)
                goto fail;
    }
    Py_DECREF(terms);
    return tangent;
fail:
    Py_DECREF(terms);
    Py_XDECREF(tangent);
    return NULL;
}

static PyObject *forward_loop(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 9 || !PyObject_TypeCheck(xs[0], &CoreType) || !PyList_Check(xs[1]) || !PyList_Check(xs[2])
            || !PyDict_Check(xs[3]) || !PyDict_Check(xs[5]) || (xs[7] != Py_None && !PyDict_Check(xs[7]))) {
        PyErr_SetString(PyExc_TypeError, "forward_loop(graph, order, outputs, carried, sources, cache, "
                                         "partials_of, ranks, pow_rule)");
        return NULL;
    }
    Core *g = (Core *)xs[0];
    PyObject *order = xs[1], *outputs = xs[2], *carried = xs[3], *sources = xs[4], *cache = xs[5];
    PyObject *partials_of = xs[6], *ranks = xs[7];
    int pow_rule = PyObject_IsTrue(xs[8]);
    if (pow_rule < 0)
        return NULL;
    Py_INCREF(partials_of);
    Py_XSETREF(python_partials, partials_of);
    if (!PyList_Check(g->kind) || !PyList_Check(g->args)) {
        PyErr_SetString(PyExc_TypeError, "forward_loop: a graph's kind and args must be lists");
        return NULL;
    }
    PyObject *hints = PyObject_GetAttrString((PyObject *)g, "hints");
    if (hints == NULL)
        return NULL;
    Py_ssize_t first_new = PyList_GET_SIZE(g->kind);
    Py_ssize_t *uses = PyMem_Calloc(first_new > 0 ? first_new : 1, sizeof(Py_ssize_t));
    int failed = 1;
    if (!PyDict_Check(hints) || uses == NULL) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "forward_loop: a graph's hints must be a dict");
        goto done;
    }
    /* uses left per node: a node's tangents are dropped after its last user (outputs keep theirs) */
    Py_ssize_t count = PyList_GET_SIZE(order), i, j, ai;
    for (i = 0; i < count; i++) {
        PyObject *args = item(g->args, PyList_GET_ITEM(order, i), NULL);
        if (args == NULL)
            goto done;
        if (!PyTuple_Check(args)) {
            PyErr_SetString(PyExc_TypeError, "forward_loop: a node's args must be a tuple");
            goto done;
        }
        for (j = 0; j < PyTuple_GET_SIZE(args); j++) {
            if (item(g->args, PyTuple_GET_ITEM(args, j), &ai) == NULL)
                goto done;
            uses[ai]++;
        }
    }
    for (i = 0; i < PyList_GET_SIZE(outputs); i++) {
        if (item(g->args, PyList_GET_ITEM(outputs, i), &ai) == NULL)
            goto done;
        uses[ai]++;
    }
    for (i = 0; i < count; i++) {
        if (CHECK_SIGNALS(i) < 0)
            goto done;
        PyObject *v = PyList_GET_ITEM(order, i);
        PyObject *args = PyList_GET_ITEM(g->args, PyLong_AsSsize_t(v));
        Py_ssize_t nargs = PyTuple_GET_SIZE(args), maps = 0;
        if (nargs == 0)
            continue;
        int r = PyDict_Contains(carried, v);
        if (r < 0)
            goto done;
        if (r)
            continue;
        for (j = 0; j < nargs; j++) {
            PyObject *a = PyTuple_GET_ITEM(args, j);
            uses[PyLong_AsSsize_t(a)]--;
            if ((r = PyDict_Contains(carried, a)) < 0)
                goto done;
            maps += r;
        }
        if (!maps)
            continue;
        Py_ssize_t made = PyList_GET_SIZE(g->kind);
        PyObject *tangent = push_node(g, v, args, carried, uses, cache, partials_of, pow_rule, hints,
                                      sources, first_new);
        if (tangent == NULL)
            goto done;
        for (j = 0; j < nargs; j++) {
            PyObject *a = PyTuple_GET_ITEM(args, j);
            if (uses[PyLong_AsSsize_t(a)] == 0) {
                if ((r = PyDict_Contains(carried, a)) < 0 || (r && PyDict_DelItem(carried, a) < 0)) {
                    Py_DECREF(tangent);
                    goto done;
                }
            }
        }
        r = PyDict_GET_SIZE(tangent) ? PyDict_SetItem(carried, v, tangent) : 0;
        Py_DECREF(tangent);
        if (r < 0)
            goto done;
        if (ranks != Py_None) {
            for (Py_ssize_t node = made; node < PyList_GET_SIZE(g->kind); node++) {
                PyObject *key = PyLong_FromSsize_t(node);
                r = key == NULL ? -1 : PyDict_SetItem(ranks, key, v);
                Py_XDECREF(key);
                if (r < 0)
                    goto done;
            }
        }
    }
    failed = 0;
done:
    PyMem_Free(uses);
    Py_DECREF(hints);
    if (failed)
        return NULL;
    Py_RETURN_NONE;
}

/* -- forward mode's schedule --------------------------------------------------------------
 * schedule(graph, nodes, ranks) is symdiff.lower.schedule's order of nodes (the ids the roots
 * depend on): sorted by (ranks.get(v, v), v), each node's arguments not placed yet placed
 * just before it, depth first.  A new list.
 */
typedef struct {
    Py_ssize_t rank, node;
    PyObject *id;       /* the node's int, borrowed from the graph or the list of nodes */
} Ranked;

static int compare_ranked(const void *p, const void *q)
{
    const Ranked *a = p, *b = q;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return (a->node > b->node) - (a->node < b->node);
}

static PyObject *schedule_order(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 3 || !PyObject_TypeCheck(xs[0], &CoreType) || !PyList_Check(xs[1]) || !PyDict_Check(xs[2])) {
        PyErr_SetString(PyExc_TypeError, "schedule(graph, nodes, ranks)");
        return NULL;
    }
    Core *g = (Core *)xs[0];
    PyObject *nodes = xs[1], *ranks = xs[2];
    if (!PyList_Check(g->args)) {
        PyErr_SetString(PyExc_TypeError, "schedule: a graph's args must be a list");
        return NULL;
    }
    Py_ssize_t size = PyList_GET_SIZE(g->args), count = PyList_GET_SIZE(nodes), depth = 0, room = 64;
    Ranked *sorted = PyMem_Malloc((count > 0 ? count : 1) * sizeof(Ranked));
    char *placed = PyMem_Calloc(size > 0 ? size : 1, 1);
    Ranked *stack = PyMem_Malloc(room * sizeof(Ranked));      /* its rank unused */
    PyObject *order = PyList_New(0);
    int failed = 1;
    if (sorted == NULL || placed == NULL || stack == NULL || order == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *v = PyList_GET_ITEM(nodes, i), *rank = PyDict_GetItemWithError(ranks, v);
        if (rank == NULL && PyErr_Occurred())
            goto done;
        if (item(g->args, v, &sorted[i].node) == NULL)
            goto done;
        sorted[i].id = v;
        sorted[i].rank = rank == NULL ? sorted[i].node : PyLong_AsSsize_t(rank);
        if (sorted[i].rank == -1 && PyErr_Occurred())
            goto done;
    }
    qsort(sorted, count, sizeof(Ranked), compare_ranked);
    for (Py_ssize_t i = 0; i < count; i++) {
        if (CHECK_SIGNALS(i) < 0)
            goto done;
        stack[0] = sorted[i];
        depth = 1;
        while (depth) {
            Ranked u = stack[depth - 1];
            if (placed[u.node]) {
                depth--;
                continue;
            }
            PyObject *args = PyList_GET_ITEM(g->args, u.node);
            if (!PyTuple_Check(args)) {
                PyErr_SetString(PyExc_TypeError, "schedule: a node's args must be a tuple");
                goto done;
            }
            Py_ssize_t nargs = PyTuple_GET_SIZE(args), missing = 0;
            if (depth + nargs > room) {
                room = 2 * (depth + nargs);
                Ranked *grown = PyMem_Realloc(stack, room * sizeof(Ranked));
                if (grown == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                stack = grown;
            }
            for (Py_ssize_t j = nargs - 1; j >= 0; j--) {   /* stack.extend(reversed(missing)) */
                Ranked a = {0, 0, PyTuple_GET_ITEM(args, j)};
                if (item(g->args, a.id, &a.node) == NULL)
                    goto done;
                if (!placed[a.node]) {
                    stack[depth++] = a;
                    missing++;
                }
            }
            if (!missing) {
                placed[u.node] = 1;
                depth--;
                if (PyList_Append(order, u.id) < 0)
                    goto done;
            }
        }
    }
    failed = 0;
done:
    PyMem_Free(sorted);
    PyMem_Free(placed);
    PyMem_Free(stack);
    if (failed) {
        Py_XDECREF(order);
        return NULL;
    }
    return order;
}

/* -- lowering's loop ----------------------------------------------------------------------
 * lower_loop(lowering, needed, primal_limit, ops, instr, primal) runs the loop of
 * symdiff.lower.lower over the needed nodes: in id order, given their marks (a bytearray),
 * returning where the function's own instructions end (lower's ``boundary``: None if they
 * never do); or in the order of a list (a schedule), appending to the list ``primal`` the
 * targets of the instructions of nodes below primal_limit, returning None.  Each node
 * of a common shape becomes its instruction here, as _Lowering._one_step finds it, named as
 * _Lowering.fresh and .final_name name it (an adjoint's name here, other hints there) and
 * appended as Emitter.emit appends it; an instruction Emitter.emit could simplify, and
 * every other node, goes to the Python methods, which see the same counter of temporaries.
 */
typedef struct {
    Core *g;
    PyObject *low, *names, *labels, *used, *hints, *ops, *instr;
    PyObject *body, *seen, *negated, *emit;     /* the Emitter's */
    Py_ssize_t counter;
    int check_fresh;
} Lowering;

static PyObject *s_add, *s_sub, *s_mul, *s_div, *s_neg, *s_pow, *s_adjoint_prefix, *s_counter;

/* the operand of node v (borrowed from names) */
static PyObject *operand_of(Lowering *L, PyObject *v)
{
    return item(L->names, v, NULL);
}

static int is_float(PyObject *x)
{
    return Py_TYPE(x) == &PyFloat_Type;
}

/* y (borrowed) when node a is Pow(y, -1), else Py_None; NULL on error */
static PyObject *reciprocal_of(Core *g, PyObject *a)
{
    PyObject *k = item(g->kind, a, NULL);
    if (k == NULL)
        return NULL;
    if (!is_kind(k, s_Pow))
        return Py_None;
    PyObject *xs = item(g->args, a, NULL);
    if (xs == NULL || !PyTuple_Check(xs) || PyTuple_GET_SIZE(xs) != 2)
        return xs == NULL ? NULL : Py_None;
    PyObject *e = PyTuple_GET_ITEM(xs, 1), *ke = item(g->kind, e, NULL);
    if (ke == NULL)
        return NULL;
    if (!is_kind(ke, s_Number))
        return Py_None;
    int r = data_equals(g, e, int_minus_one, Py_EQ);
    return r < 0 ? NULL : r ? PyTuple_GET_ITEM(xs, 0) : Py_None;
}

/* _Lowering._form: the operand of node x inside a sum ('n' for -y) or product ('r' for 1/y) */
static PyObject *form(Lowering *L, PyObject *x, PyObject *kind, int product, char *code)
{
    if (is_kind(kind, s_Number)) {
        *code = 'c';
        return operand_of(L, x);
    }
    if (is_kind(kind, product ? s_Pow : s_Mul)) {
        PyObject *y = product ? reciprocal_of(L->g, x) : negation_of(L->g, x);
        if (y == NULL)
            return NULL;
        if (y != Py_None) {
            *code = product ? 'r' : 'n';
            return operand_of(L, y);
        }
    }
    *code = 'p';
    return operand_of(L, x);
}

static int float_is(PyObject *x, double value)     /* x == value, x a float operand */
{
    return PyFloat_AS_DOUBLE(x) == value;
}

/* _Lowering._one_step: 1 with *op and *args (new references) set, 0 for None, -1 on error */
static int one_step(Lowering *L, PyObject *v, PyObject **op, PyObject **args)
{
    Core *g = L->g;
    PyObject *kind = item(g->kind, v, NULL), *xs = item(g->args, v, NULL);
    if (kind == NULL || xs == NULL)
        return -1;
    if (!PyTuple_Check(xs))
        return 0;
    Py_ssize_t n = PyTuple_GET_SIZE(xs);
    PyObject *o = NULL, *a = NULL, *b = NULL;
    if (n == 2) {
        PyObject *x = PyTuple_GET_ITEM(xs, 0), *y = PyTuple_GET_ITEM(xs, 1);
        PyObject *kx = item(g->kind, x, NULL), *ky = item(g->kind, y, NULL);
        if (kx == NULL || ky == NULL)
            return -1;
        char ka, kb;
        int sum = is_kind(kind, s_Add);
        if (sum || is_kind(kind, s_Mul)) {
            a = form(L, x, kx, !sum, &ka);
            if (a == NULL)
                return -1;
            b = form(L, y, ky, !sum, &kb);
            if (b == NULL)
                return -1;
            /* a 'c' operand is a float: lower puts each needed constant's float in names */
            if ((ka == 'c' && !is_float(a)) || (kb == 'c' && !is_float(b)))
                return 0;
        }
        if (sum) {
            PyObject *p = a, *q = b;
            if (ka == 'p')
                o = kb != 'n' ? s_add : s_sub;
            else if (kb == 'p') {
                o = ka == 'c' ? s_add : s_sub;
                p = b;
                q = a;
            }
            else if (ka == 'c' && kb == 'n' && !float_is(a, 0.0))
                o = s_sub;
            else if (kb == 'c' && ka == 'n' && !float_is(b, 0.0)) {
                o = s_sub;
                p = b;
                q = a;
            }
            else
                return 0;
            *args = PyTuple_Pack(2, p, q);
        }
        else if (is_kind(kind, s_Mul)) {
            if (ka == 'c') {        /* the constant second */
                PyObject *t = a;
                char tk = ka;
                a = b;
                b = t;
                ka = kb;
                kb = tk;
            }
            PyObject *p = a, *q = b;
            if (ka == 'p') {
                if (kb == 'p')
                    o = s_mul;
                else if (kb == 'r')
                    o = s_div;
                else if (float_is(b, -1.0)) {
                    *op = s_neg;
                    Py_INCREF(s_neg);
                    *args = PyTuple_Pack(1, a);
                    return *args == NULL ? -1 : 1;
                }
                else if (!float_is(b, 1.0)) {
                    o = s_mul;
                    p = b;
                    q = a;
                }
                else
                    return 0;
            }
            else if (ka == 'r' && kb == 'c' && !float_is(b, 1.0)) {
                o = s_div;
                p = b;
                q = a;
            }
            else if (ka == 'r' && kb == 'p') {
                o = s_div;
                p = b;
                q = a;
            }
            else
                return 0;
            *args = PyTuple_Pack(2, p, q);
        }
        else if (is_kind(kind, s_Pow) && is_kind(ky, s_Number)) {
            PyObject *c = operand_of(L, y);
            if (c == NULL)
                return -1;
            if (!is_float(c) || float_is(c, 0.5) || float_is(c, -0.5) || float_is(c, -1.0)
                    || is_kind(kx, s_Number) || is_kind(kx, s_NumberSymbol))
                return 0;
            PyObject *base = operand_of(L, x);
            if (base == NULL)
                return -1;
            o = s_pow;
            *args = PyTuple_Pack(2, base, c);
        }
        else
            return 0;
    }
    else if (n == 1) {
        int r = PyDict_Contains(L->ops, kind);
        if (r <= 0)
            return r;
        PyObject *x = PyTuple_GET_ITEM(xs, 0), *kx = item(g->kind, x, NULL);
        if (kx == NULL)
            return -1;
        if (is_kind(kx, s_Number) || is_kind(kx, s_NumberSymbol))
            return 0;
        PyObject *operand = operand_of(L, x);
        if (operand == NULL)
            return -1;
        o = kind;
        *args = PyTuple_Pack(1, operand);
    }
    else
        return 0;
    if (*args == NULL)
        return -1;
    Py_INCREF(o);
    *op = o;
    return 1;
}

static int trivial(PyObject *x)     /* x in optimize._TRIVIAL, x a float */
{
    double d = PyFloat_AS_DOUBLE(x);
    return d == 0.0 || d == 1.0 || d == -1.0;
}

static int in_negated(Lowering *L, PyObject *x)
{
    return PyUnicode_Check(x) ? PySet_Contains(L->negated, x) : 0;
}

/* Emitter.emit: the operand now holding the value (new reference) */
static PyObject *emit(Lowering *L, PyObject *target, PyObject *op, PyObject *args)
{
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    int special = 0;
    PyObject *a = n > 0 ? PyTuple_GET_ITEM(args, 0) : NULL, *b = n > 1 ? PyTuple_GET_ITEM(args, 1) : NULL;
    if (n == 2) {
        if (is_float(a))
            special = is_float(b) || trivial(a) || in_negated(L, b);
        else if (is_float(b))
            special = trivial(b) || in_negated(L, a);
        else
            special = in_negated(L, a) || in_negated(L, b);
    }
    else
        for (Py_ssize_t k = 0; k < n && !special; k++) {
            PyObject *x = PyTuple_GET_ITEM(args, k);
            special = is_float(x) || in_negated(L, x);
        }
    if (PyErr_Occurred())
        return NULL;
    if (special && n == 2 && (op == s_add || op == s_sub) && is_float(a) != is_float(b)) {
        /* a name and a constant 1.0 or -1.0 (0.0 goes away), in a sum or a subtraction:
         * optimize._simplify returns it as it is unless the name is a negation */
        PyObject *c = is_float(a) ? a : b, *name = c == a ? b : a;
        if (!float_is(c, 0.0) && PyUnicode_Check(name)) {
            int r = PySet_Contains(L->negated, name);
            if (r < 0)
                return NULL;
            special = r;
        }
    }
    /* the Python method simplifies it, or (a neg) keeps track of the negations */
    if (special || op == s_neg)
        return PyObject_CallFunctionObjArgs(L->emit, target, op, args, NULL);
    PyObject *table = PyDict_GetItemWithError(L->seen, op);
    if (table == NULL) {
        if (PyErr_Occurred())
            return NULL;
        table = PyDict_New();
        if (table == NULL || PyDict_SetItem(L->seen, op, table) < 0) {
            Py_XDECREF(table);
            return NULL;
        }
        Py_DECREF(table);       /* seen holds it */
    }
    PyObject *key = args;
    Py_INCREF(key);
    if (n == 2 && (op == s_add || op == s_mul)) {      /* commutative (one_step's binary ops
                                                           are add, sub, mul, div and pow) */
        int swap;
        if (Py_TYPE(a) == Py_TYPE(b)) {
            swap = PyObject_RichCompareBool(b, a, Py_LT);
            if (swap < 0) {
                Py_DECREF(key);
                return NULL;
            }
        }
        else
            swap = !PyUnicode_CheckExact(a);        /* a name and a constant: the name first */
        if (swap) {
            Py_SETREF(key, PyTuple_Pack(2, b, a));
            if (key == NULL)
                return NULL;
        }
    }
    PyObject *existing = PyDict_GetItemWithError(table, key);
    if (existing != NULL || PyErr_Occurred()) {
        Py_DECREF(key);
        Py_XINCREF(existing);
        return existing;
    }
    int r = PyDict_SetItem(table, key, target);
    Py_DECREF(key);
    if (r < 0)
        return NULL;
    /* an Instr (a tuple subclass without a __dict__), as tuple.__new__(Instr, ...) makes it */
    PyObject *ins = ((PyTypeObject *)L->instr)->tp_alloc((PyTypeObject *)L->instr, 3);
    if (ins == NULL)
        return NULL;
    Py_INCREF(target);
    Py_INCREF(op);
    Py_INCREF(args);
    PyTuple_SET_ITEM(ins, 0, target);
    PyTuple_SET_ITEM(ins, 1, op);
    PyTuple_SET_ITEM(ins, 2, args);
    r = PyList_Append(L->body, ins);
    Py_DECREF(ins);
    if (r < 0)
        return NULL;
    Py_INCREF(target);
    return target;
}

static int sync_counter(Lowering *L)    /* the Python methods' view of the counter */
{
    PyObject *c = PyLong_FromSsize_t(L->counter);
    if (c == NULL)
        return -1;
    int r = PyObject_SetAttr(L->low, s_counter, c);
    Py_DECREF(c);
    return r;
}

static int read_counter(Lowering *L)
{
    PyObject *c = PyObject_GetAttr(L->low, s_counter);
    if (c == NULL)
        return -1;
    L->counter = PyLong_AsSsize_t(c);
    Py_DECREF(c);
    return L->counter == -1 && PyErr_Occurred() ? -1 : 0;
}

/* the next temporary, t<counter> (new reference) */
static PyObject *temporary(Lowering *L)
{
    char text[32];
    int length = snprintf(text, sizeof text, "t%zd", L->counter++);
    return PyUnicode_FromStringAndSize(text, length);
}

/* a temporary (new reference), as _Lowering.fresh names it */
static PyObject *fresh_name(Lowering *L)
{
    if (!L->check_fresh)
        return temporary(L);
    if (sync_counter(L) < 0)
        return NULL;
    PyObject *name = PyObject_CallMethod(L->low, "fresh", NULL);
    if (name == NULL || read_counter(L) < 0) {
        Py_XDECREF(name);
        return NULL;
    }
    return name;
}

/* a name for node v's instruction (new reference): _Lowering.fresh or .final_name */
/* the label a hint names node v by (labels.get(v, names[v])), or None where v has no
 * name yet.  New reference. */
static PyObject *label_of(Lowering *L, PyObject *v)
{
    PyObject *own = operand_of(L, v);       /* borrowed */
    if (own == NULL)
        return NULL;
    PyObject *label = own == Py_None ? NULL : PyDict_GetItemWithError(L->labels, v);
    if (label == NULL && PyErr_Occurred())
        return NULL;
    label = label != NULL ? label : own;
    Py_INCREF(label);
    return label;
}

/* _Lowering.final_name's base for a hint: adj_x, dt1_dx or t1_dot, or None for a node
 * not named yet (final_name then takes a fresh name); *known is 0 where the Python method
 * must decide (a hint of another shape).  New reference. */
static PyObject *hint_base(Lowering *L, PyObject *hint, int *known)
{
    *known = 0;
    if (!PyTuple_Check(hint))
        Py_RETURN_NONE;
    Py_ssize_t size = PyTuple_GET_SIZE(hint);
    PyObject *tag = size ? PyTuple_GET_ITEM(hint, 0) : NULL;
    int tangent = size == 3 && tag == s_tangent;
    if (!tangent && !(size == 2 && (tag == s_adjoint || tag == s_direction)))
        Py_RETURN_NONE;
    *known = 1;
    PyObject *first = label_of(L, PyTuple_GET_ITEM(hint, 1));
    if (first == NULL || first == Py_None)
        return first;
    PyObject *base = NULL;
    if (tag == s_adjoint)
        base = PyUnicode_Concat(s_adjoint_prefix, first);
    else if (tag == s_direction)
        base = PyUnicode_FromFormat("%S_dot", first);
    else {
        PyObject *second = label_of(L, PyTuple_GET_ITEM(hint, 2));
        if (second != NULL) {
            if (second == Py_None) {
                base = Py_None;
                Py_INCREF(base);
            }
            else
                base = PyUnicode_FromFormat("d%S_d%S", first, second);
            Py_DECREF(second);
        }
    }
    Py_DECREF(first);
    return base;
}

static PyObject *name_for(Lowering *L, PyObject *v)
{
    PyObject *hint = PyDict_GetItemWithError(L->hints, v);
    if (hint == NULL && PyErr_Occurred())
        return NULL;
    if (hint == NULL && !L->check_fresh)
        return temporary(L);
    if (hint != NULL) {
        int known;
        PyObject *base = hint_base(L, hint, &known);
        if (base == NULL)
            return NULL;
        if (base == Py_None && known) {
            Py_DECREF(base);
            return fresh_name(L);
        }
        if (base != Py_None) {
            PyObject *name = base;
            Py_INCREF(name);
            for (Py_ssize_t k = 1;; k++) {
                int r = PySet_Contains(L->used, name);
                if (r <= 0) {
                    if (r == 0)
                        r = PySet_Add(L->used, name);
                    Py_DECREF(base);
                    if (r < 0) {
                        Py_DECREF(name);
                        return NULL;
                    }
                    return name;
                }
                Py_SETREF(name, PyUnicode_FromFormat("%U_%zd", base, k));
                if (name == NULL) {
                    Py_DECREF(base);
                    return NULL;
                }
            }
        }
        Py_DECREF(base);
    }
    /* the Python methods: other hints, or temporaries that may clash with an input */
    if (sync_counter(L) < 0)
        return NULL;
    PyObject *name = hint != NULL ? PyObject_CallMethod(L->low, "final_name", "O", v)
                                  : PyObject_CallMethod(L->low, "fresh", NULL);
    if (name == NULL || read_counter(L) < 0) {
        Py_XDECREF(name);
        return NULL;
    }
    return name;
}

/* a sum the general path writes (_Lowering._sum_steps, then .emit_chain): its operands, the
 * negated ones, and the constants added up; then a chain of add and sub.  1 done, 0 when
 * this is not such a sum (the Python method then), -1 on error. */
static int emit_sum(Lowering *L, PyObject *v, Py_ssize_t i)
{
    Core *g = L->g;
    PyObject *kind = PyList_GET_ITEM(g->kind, i), *xs = PyList_GET_ITEM(g->args, i);
    if (!is_kind(kind, s_Add) || !PyTuple_Check(xs))
        return 0;
    Py_ssize_t n = PyTuple_GET_SIZE(xs), npos = 0, nneg = 0;
    PyObject *stack_ops[16];
    PyObject **ops = n <= 8 ? stack_ops : PyMem_Malloc(2 * n * sizeof(PyObject *));
    if (ops == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    PyObject **pos = ops, **neg = ops + n;     /* borrowed operands */
    double constant = 0.0;
    int r = 1;
    for (Py_ssize_t k = 0; k < n && r > 0; k++) {
        PyObject *a = PyTuple_GET_ITEM(xs, k), *ka = item(g->kind, a, NULL), *y = Py_None;
        if (ka == NULL) {
            r = -1;
            break;
        }
        if (is_kind(ka, s_Number)) {
            PyObject *c = operand_of(L, a);
            if (c == NULL)
                r = -1;
            else if (!is_float(c))
                r = 0;
            else
                constant += PyFloat_AS_DOUBLE(c);
            continue;
        }
        if (is_kind(ka, s_Mul) && (y = negation_of(g, a)) == NULL) {
            r = -1;
            break;
        }
        PyObject *x = operand_of(L, y != Py_None ? y : a);
        if (x == NULL)
            r = -1;
        else if (y != Py_None)
            neg[nneg++] = x;
        else
            pos[npos++] = x;
    }
    PyObject *first = NULL, *prev = NULL, *target = NULL, *constant_operand = NULL;
    Py_ssize_t steps = 0, last, taken_neg = 0;
    if (r <= 0)
        goto done;
    /* the steps: first + rest..., - negs..., + constant; or -neg[0] when nothing else leads */
    if (npos) {
        first = pos[0];
        last = (npos - 1) + nneg + (constant != 0.0);
    }
    else if (constant != 0.0) {
        constant_operand = PyFloat_FromDouble(constant);
        if (constant_operand == NULL) {
            r = -1;
            goto done;
        }
        first = constant_operand;
        constant = 0.0;
        last = nneg;
    }
    else
        last = nneg;        /* the neg, then nneg - 1 subs */
    last -= 1;
    if (last < 0) {         /* a single operand: not a shape the general path gets here */
        r = 0;
        goto done;
    }
    for (;;) {
        PyObject *op, *args;
        if (steps == 0 && first == NULL) {
            op = s_neg;
            args = PyTuple_Pack(1, neg[taken_neg++]);
        }
        else {
            PyObject *left = steps == 0 ? first : prev, *right;
            if (npos && steps < npos - 1) {
                op = s_add;
                right = pos[steps + 1];
            }
            else if (taken_neg < nneg) {
                op = s_sub;
                right = neg[taken_neg++];
            }
            else {
                op = s_add;
                PyObject *c = PyFloat_FromDouble(constant);
                if (c == NULL) {
                    r = -1;
                    goto done;
                }
                args = PyTuple_Pack(2, left, c);
                Py_DECREF(c);
                goto pack;
            }
            args = PyTuple_Pack(2, left, right);
        }
    pack:
        if (args == NULL) {
            r = -1;
            goto done;
        }
        target = steps == last ? name_for(L, v) : fresh_name(L);
        PyObject *value = target == NULL ? NULL : emit(L, target, op, args);
        Py_DECREF(args);
        if (value == NULL) {
            r = -1;
            goto done;
        }
        Py_XSETREF(prev, value);
        if (steps == last)
            break;
        Py_CLEAR(target);
        steps++;
    }
    /* _Lowering.settle */
    Py_INCREF(prev);
    PyList_SetItem(L->names, i, prev);
    if (prev != target && PyDict_SetItem(L->labels, v, target) < 0)
        r = -1;
done:
    Py_XDECREF(prev);
    Py_XDECREF(target);
    Py_XDECREF(constant_operand);
    if (ops != stack_ops)
        PyMem_Free(ops);
    return r;
}

/* the instruction(s) of node i, whose names[i] is None: 0, or -1 on error */
static int lower_node(Lowering *L, Py_ssize_t i)
{
    PyObject *v = PyLong_FromSsize_t(i);
    if (v == NULL)
        return -1;
    PyObject *op = NULL, *args = NULL, *target = NULL, *value = NULL;
    int r = one_step(L, v, &op, &args);
    if (r == 0)
        r = emit_sum(L, v, i);
    if (r > 0 && op == NULL) {      /* a sum, done */
        Py_DECREF(v);
        return 0;
    }
    if (r == 0) {           /* the general path */
        PyObject *done = NULL;
        if (sync_counter(L) == 0) {
            done = PyObject_CallMethod(L->low, "emit", "O", v);
            if (done != NULL && read_counter(L) < 0)
                Py_CLEAR(done);
        }
        Py_DECREF(v);
        if (done == NULL)
            return -1;
        Py_DECREF(done);
        return 0;
    }
    if (r > 0 && (target = name_for(L, v)) != NULL && (value = emit(L, target, op, args)) != NULL) {
        /* _Lowering.settle */
        PyList_SetItem(L->names, i, value);        /* steals value */
        r = value != target ? PyDict_SetItem(L->labels, v, target) : 0;
    }
    else
        r = -1;
    Py_DECREF(v);
    Py_XDECREF(op);
    Py_XDECREF(args);
    Py_XDECREF(target);
    return r < 0 ? -1 : 0;
}

/* whether node i still needs its code (names[i] is None; not an input or a constant): 1, 0,
 * or -1 with IndexError */
static int unnamed(Lowering *L, Py_ssize_t i)
{
    if (i < 0 || i >= PyList_GET_SIZE(L->names)) {
        PyErr_SetString(PyExc_IndexError, "lower_loop: a needed node past the names");
        return -1;
    }
    return PyList_GET_ITEM(L->names, i) == Py_None;
}

/* in id order, the needed nodes (a bytearray of marks): lower's boundary, or None */
static PyObject *lower_in_id_order(Lowering *L, PyObject *needed, Py_ssize_t primal_limit)
{
    Py_ssize_t size = PyByteArray_GET_SIZE(needed), boundary = -1;
    const char *marks = PyByteArray_AS_STRING(needed);
    for (Py_ssize_t i = 0; i < size; i++) {
        if (CHECK_SIGNALS(i) < 0)
            return NULL;
        if (!marks[i])
            continue;
        int r = unnamed(L, i);
        if (r < 0)
            return NULL;
        if (!r)
            continue;
        if (boundary < 0 && i >= primal_limit)
            boundary = PyList_GET_SIZE(L->body);
        if (lower_node(L, i) < 0)
            return NULL;
    }
    if (sync_counter(L) < 0)
        return NULL;
    if (boundary < 0)
        Py_RETURN_NONE;
    return PyLong_FromSsize_t(boundary);
}

/* in the order of a list of nodes (lower's schedule), each instruction of a node below
 * primal_limit appended to ``primal`` (its target) as it is made: None */
static PyObject *lower_in_order(Lowering *L, PyObject *order, Py_ssize_t primal_limit, PyObject *primal)
{
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(order); k++) {
        if (CHECK_SIGNALS(k) < 0)
            return NULL;
        Py_ssize_t i = PyLong_AsSsize_t(PyList_GET_ITEM(order, k));
        if (i == -1 && PyErr_Occurred())
            return NULL;
        int r = unnamed(L, i);
        if (r < 0)
            return NULL;
        if (!r)
            continue;
        Py_ssize_t start = PyList_GET_SIZE(L->body);
        if (lower_node(L, i) < 0)
            return NULL;
        if (i < primal_limit)
            for (Py_ssize_t j = start; j < PyList_GET_SIZE(L->body); j++)
                if (PyList_Append(primal, PyTuple_GET_ITEM(PyList_GET_ITEM(L->body, j), 0)) < 0)
                    return NULL;
    }
    if (sync_counter(L) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *lower_loop(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 6 || !(PyByteArray_Check(xs[1]) || (PyList_Check(xs[1]) && PyList_Check(xs[5])))
            || !PyDict_Check(xs[3]) || !PyType_Check(xs[4])) {
        PyErr_SetString(PyExc_TypeError, "lower_loop(lowering, needed or order, primal_limit, ops, instr, "
                                         "primal)");
        return NULL;
    }
    Lowering L = {0};
    L.low = xs[0];
    L.ops = xs[3];
    L.instr = xs[4];
    Py_ssize_t primal_limit = PyLong_AsSsize_t(xs[2]);
    if (primal_limit == -1 && PyErr_Occurred())
        return NULL;
    PyObject *g = PyObject_GetAttrString(L.low, "g");
    PyObject *emitter = PyObject_GetAttrString(L.low, "emitter");
    PyObject *check = PyObject_GetAttrString(L.low, "check_fresh");
    PyObject *result = NULL;
    if (g && emitter && check && PyObject_TypeCheck(g, &CoreType)
            && (L.names = PyObject_GetAttrString(L.low, "names"))
            && (L.labels = PyObject_GetAttrString(L.low, "labels"))
            && (L.used = PyObject_GetAttrString(L.low, "used"))
            && (L.hints = PyObject_GetAttrString(g, "hints"))
            && (L.body = PyObject_GetAttrString(emitter, "body"))
            && (L.seen = PyObject_GetAttrString(emitter, "seen"))
            && (L.negated = PyObject_GetAttrString(emitter, "negated"))
            && (L.emit = PyObject_GetAttrString(emitter, "emit"))) {
        L.g = (Core *)g;
        L.check_fresh = PyObject_IsTrue(check);
        if (!PyList_Check(L.names) || !PyDict_Check(L.labels) || !PySet_Check(L.used)
                || !PyDict_Check(L.hints) || !PyList_Check(L.body) || !PyDict_Check(L.seen)
                || !PySet_Check(L.negated) || L.check_fresh < 0)
            PyErr_SetString(PyExc_TypeError, "lower_loop: not a _Lowering of symdiff.lower");
        else if (read_counter(&L) == 0)
            result = PyByteArray_Check(xs[1]) ? lower_in_id_order(&L, xs[1], primal_limit)
                                              : lower_in_order(&L, xs[1], primal_limit, xs[5]);
    }
    else if (!PyErr_Occurred())
        PyErr_SetString(PyExc_TypeError, "lower_loop: the lowering's graph is not a C-core graph");
    Py_XDECREF(g);
    Py_XDECREF(emitter);
    Py_XDECREF(check);
    Py_XDECREF(L.names);
    Py_XDECREF(L.labels);
    Py_XDECREF(L.used);
    Py_XDECREF(L.hints);
    Py_XDECREF(L.body);
    Py_XDECREF(L.seen);
    Py_XDECREF(L.negated);
    Py_XDECREF(L.emit);
    return result;
}

/* needed_nodes(graph, outputs, names, to_float): lower's marking of the nodes the outputs
 * need, as a bytearray over the ids: a sum reads y for its operand -y, a product y for
 * 1/y, and a needed constant gets its float, to_float(data), in names right away.  One
 * scan down the ids (they are topological) marks the set lower's walk marks. */
static PyObject *needed_nodes(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 4 || !PyObject_TypeCheck(xs[0], &CoreType) || !PyList_Check(xs[2])) {
        PyErr_SetString(PyExc_TypeError, "needed_nodes(graph, outputs, names, to_float)");
        return NULL;
    }
    Core *g = (Core *)xs[0];
    PyObject *names = xs[2], *to_float = xs[3];
    if (!PyList_Check(g->kind) || !PyList_Check(g->args) || !PyList_Check(g->data)) {
        PyErr_SetString(PyExc_TypeError, "needed_nodes: the graph's kind, args and data must be lists");
        return NULL;
    }
    Py_ssize_t size = PyList_GET_SIZE(g->kind);
    if (PyList_GET_SIZE(names) < size) {
        PyErr_SetString(PyExc_ValueError, "needed_nodes: fewer names than nodes");
        return NULL;
    }
    PyObject *needed = PyByteArray_FromStringAndSize(NULL, size);
    if (needed == NULL)
        return NULL;
    char *marks = PyByteArray_AS_STRING(needed);
    memset(marks, 0, size);
    PyObject *outputs = PySequence_Fast(xs[1], "outputs must be a sequence");
    if (outputs == NULL)
        goto fail;
    Py_ssize_t top = -1;
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(outputs); k++) {
        PyObject *o = PySequence_Fast_GET_ITEM(outputs, k);
        Py_ssize_t i;
        if (item(g->kind, o, &i) == NULL) {
            Py_DECREF(outputs);
            goto fail;
        }
        marks[i] = 1;
        if (i > top)
            top = i;
    }
    Py_DECREF(outputs);
    for (Py_ssize_t i = top; i >= 0; i--) {
        if (!marks[i])
            continue;
        PyObject *kind = PyList_GET_ITEM(g->kind, i), *args = PyList_GET_ITEM(g->args, i);
        if (is_kind(kind, s_Number) || is_kind(kind, s_NumberSymbol)) {
            PyObject *value = PyObject_CallOneArg(to_float, PyList_GET_ITEM(g->data, i));
            if (value == NULL)
                goto fail;
            PyList_SetItem(names, i, value);
            continue;
        }
        if (!PyTuple_Check(args))
            continue;
        int sum = is_kind(kind, s_Add), product = !sum && is_kind(kind, s_Mul);
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(args); k++) {
            PyObject *a = PyTuple_GET_ITEM(args, k), *y = Py_None;
            if (sum || product) {
                y = sum ? negation_of(g, a) : reciprocal_of(g, a);
                if (y == NULL)
                    goto fail;
            }
            Py_ssize_t j;
            if (item(g->kind, y == Py_None ? a : y, &j) == NULL)
                goto fail;
            marks[j] = 1;
        }
    }
    return needed;
fail:
    Py_DECREF(needed);
    return NULL;
}

/* -- programs: the checker's quick pass, and printing's common lines ---------------------- */

/* check_body(body, defined, arity): program.check's quick pass over the body -- each op of
 * its arity, each target a new identifier, each operand a float or defined before -- adding
 * the targets to the set ``defined`` (holding the inputs).  True when every instruction
 * passes, False at the first that does not (program._diagnose then says why), None at one
 * that is not a tuple of three with a tuple of operands (the Python pass reads those). */
static PyObject *check_body(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 3 || !PyAnySet_Check(xs[1]) || !PyDict_Check(xs[2])) {
        PyErr_SetString(PyExc_TypeError, "check_body(body, defined, arity)");
        return NULL;
    }
    PyObject *it = PyObject_GetIter(xs[0]), *ins, *defined = xs[1], *arity = xs[2];
    if (it == NULL)
        return NULL;
    int ok = 1, tuples = 1;
    while (ok == 1 && (ins = PyIter_Next(it)) != NULL) {
        ok = 0;
        tuples = PyTuple_Check(ins) && PyTuple_GET_SIZE(ins) == 3 && PyTuple_Check(PyTuple_GET_ITEM(ins, 2));
        if (tuples) {
            PyObject *target = PyTuple_GET_ITEM(ins, 0), *op = PyTuple_GET_ITEM(ins, 1);
            PyObject *args = PyTuple_GET_ITEM(ins, 2);
            PyObject *count = PyDict_GetItemWithError(arity, op);
            if (count != NULL && PyLong_Check(count) && PyLong_AsSsize_t(count) == PyTuple_GET_SIZE(args)
                    && PyUnicode_Check(target) && PyUnicode_IsIdentifier(target) == 1
                    && PySet_Contains(defined, target) == 0) {
                ok = 1;
                for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(args) && ok == 1; k++) {
                    PyObject *a = PyTuple_GET_ITEM(args, k);
                    if (!PyFloat_Check(a))
                        ok = PySet_Contains(defined, a) == 1;
                }
                if (ok == 1 && PySet_Add(defined, target) < 0)
                    ok = -1;
            }
        }
        Py_DECREF(ins);
        if (ok == 0)
            PyErr_Clear();      /* a lookup's error: the Python pass finds what is wrong */
    }
    Py_DECREF(it);
    if (ok < 0 || PyErr_Occurred())
        return NULL;
    if (!tuples)            /* instructions or operands not tuples: the Python pass reads them */
        Py_RETURN_NONE;
    return PyBool_FromLong(ok);
}

/* infix_lines(body, infix, constants, format_constant, statement): printing.body_lines's
 * loop -- ``t = a + b`` for an op of ``infix`` (op -> " + ") on names and constants, a
 * constant written as format_constant writes it (nonzero ones kept in ``constants``), and
 * statement(ins) for every other line, a power of a constant base included */
static PyObject *constant_text(PyObject *value, PyObject *constants, PyObject *format)
{
    int nonzero = PyObject_IsTrue(value);
    if (nonzero < 0)
        return NULL;
    if (nonzero) {
        PyObject *text = PyDict_GetItemWithError(constants, value);
        if (text != NULL) {
            Py_INCREF(text);
            return text;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    PyObject *text = PyObject_CallOneArg(format, value);
    if (text != NULL && nonzero && PyDict_SetItem(constants, value, text) < 0)
        Py_CLEAR(text);
    return text;
}

static PyObject *infix_lines(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 5 || !PyDict_Check(xs[1]) || !PyDict_Check(xs[2])) {
        PyErr_SetString(PyExc_TypeError, "infix_lines(body, infix, constants, format_constant, statement)");
        return NULL;
    }
    PyObject *infix = xs[1], *constants = xs[2], *format = xs[3], *statement = xs[4];
    PyObject *lines = PyList_New(0), *it = PyObject_GetIter(xs[0]), *ins;
    if (lines == NULL || it == NULL)
        goto fail;
    while ((ins = PyIter_Next(it)) != NULL) {
        PyObject *line = NULL;
        PyObject *op = PyTuple_Check(ins) && PyTuple_GET_SIZE(ins) == 3 ? PyTuple_GET_ITEM(ins, 1) : NULL;
        PyObject *sign = op ? PyDict_GetItemWithError(infix, op) : NULL;
        PyObject *args = sign ? PyTuple_GET_ITEM(ins, 2) : NULL;
        if (sign != NULL && PyTuple_Check(args) && PyTuple_GET_SIZE(args) == 2
                && !(Py_TYPE(PyTuple_GET_ITEM(args, 0)) != &PyUnicode_Type && is_kind(op, s_pow))) {
            PyObject *a = PyTuple_GET_ITEM(args, 0), *b = PyTuple_GET_ITEM(args, 1);
            a = Py_TYPE(a) == &PyUnicode_Type ? (Py_INCREF(a), a) : constant_text(a, constants, format);
            b = a == NULL ? NULL : Py_TYPE(b) == &PyUnicode_Type ? (Py_INCREF(b), b)
                                                                : constant_text(b, constants, format);
            if (a != NULL && b != NULL)
                line = PyUnicode_FromFormat("%S = %U%U%U", PyTuple_GET_ITEM(ins, 0), a, sign, b);
            Py_XDECREF(a);
            Py_XDECREF(b);
        }
        else if (!PyErr_Occurred())
            line = PyObject_CallOneArg(statement, ins);
        Py_DECREF(ins);
        if (line == NULL || PyList_Append(lines, line) < 0) {
            Py_XDECREF(line);
            goto fail;
        }
        Py_DECREF(line);
    }
    if (PyErr_Occurred())
        goto fail;
    Py_DECREF(it);
    return lines;
fail:
    Py_XDECREF(it);
    Py_XDECREF(lines);
    return NULL;
}

static PyObject *install(PyObject *module, PyObject *const *xs, Py_ssize_t n)
{
    if (n != 3) {
        PyErr_SetString(PyExc_TypeError, "install(mul, pow, number): the Python methods");
        return NULL;
    }
    PyObject **slots[3] = {&py_mul, &py_pow, &py_number};
    for (int k = 0; k < 3; k++) {
        Py_INCREF(xs[k]);
        Py_XSETREF(*slots[k], xs[k]);
    }
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"install", (PyCFunction)(void (*)(void))install, METH_FASTCALL,
     "install(mul, pow, number): the Python methods for the cases Core leaves to them."},
    {"parse_tokens", (PyCFunction)(void (*)(void))parse_tokens, METH_FASTCALL,
     "parse_tokens(graph, tokens, functions, constants, number_value, call_node): the root node "
     "of the formula, or None where the Python parser must say what is wrong."},
    {"reverse_loop", (PyCFunction)(void (*)(void))reverse_loop, METH_FASTCALL,
     "reverse_loop(graph, pending, active, wanted, cache, partials_of, top, adjoint): the loop "
     "of symdiff.reverse.sweep over every id from top down."},
    {"forward_loop", (PyCFunction)(void (*)(void))forward_loop, METH_FASTCALL,
     "forward_loop(graph, order, outputs, carried, sources, cache, partials_of, ranks, pow_rule): "
     "the loop of symdiff.forward._push over the nodes of order."},
    {"schedule", (PyCFunction)(void (*)(void))schedule_order, METH_FASTCALL,
     "schedule(graph, nodes, ranks): symdiff.lower.schedule's order of nodes."},
    {"lower_loop", (PyCFunction)(void (*)(void))lower_loop, METH_FASTCALL,
     "lower_loop(lowering, needed or order, primal_limit, ops, instr, primal): the loop of "
     "symdiff.lower.lower."},
    {"needed_nodes", (PyCFunction)(void (*)(void))needed_nodes, METH_FASTCALL,
     "needed_nodes(graph, outputs, names, to_float): lower's marks of the nodes the outputs need."},
    {"check_body", (PyCFunction)(void (*)(void))check_body, METH_FASTCALL,
     "check_body(body, defined, arity): program.check's quick pass; False at a bad instruction."},
    {"infix_lines", (PyCFunction)(void (*)(void))infix_lines, METH_FASTCALL,
     "infix_lines(body, infix, constants, format_constant, statement): printing.body_lines's loop."},
    {"tokens", (PyCFunction)tokens, METH_O,
     "tokens(text): parse._FAST_TOKEN.findall(text) + [''] for ASCII text, else None."},
    {NULL}
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "symdiff._graphcore",
    "The graph's interning constructors in C (optional; see symdiff.graph).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__graphcore(void)
{
    s_Number = PyUnicode_InternFromString("Number");
    s_NumberSymbol = PyUnicode_InternFromString("NumberSymbol");
    s_Add = PyUnicode_InternFromString("Add");
    s_Mul = PyUnicode_InternFromString("Mul");
    s_Pow = PyUnicode_InternFromString("Pow");
    int_zero = PyLong_FromLong(0);
    int_one = PyLong_FromLong(1);
    int_minus_one = PyLong_FromLong(-1);
    int_two = PyLong_FromLong(2);
    float_two = PyFloat_FromDouble(2.0);
    float_half = PyFloat_FromDouble(0.5);
    float_minus_one = PyFloat_FromDouble(-1.0);
    if (!int_two || !float_two || !float_half || !float_minus_one)
        return NULL;
    s_add = PyUnicode_InternFromString("add");
    s_sub = PyUnicode_InternFromString("sub");
    s_mul = PyUnicode_InternFromString("mul");
    s_div = PyUnicode_InternFromString("div");
    s_neg = PyUnicode_InternFromString("neg");
    s_pow = PyUnicode_InternFromString("pow");
    s_adjoint = PyUnicode_InternFromString("adjoint");
    s_adjoint_prefix = PyUnicode_InternFromString("adj_");
    s_counter = PyUnicode_InternFromString("counter");
    s_tangent = PyUnicode_InternFromString("tangent");
    s_direction = PyUnicode_InternFromString("direction");
    if (!s_add || !s_sub || !s_mul || !s_div || !s_neg || !s_pow || !s_adjoint || !s_adjoint_prefix
            || !s_counter || !s_tangent || !s_direction)
        return NULL;
    if (!s_Number || !s_NumberSymbol || !s_Add || !s_Mul || !s_Pow || !int_zero || !int_one
            || !int_minus_one)
        return NULL;
    if (PyType_Ready(&CoreType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    /* graph._CORE_API: the interface this file implements */
    if (PyModule_AddIntConstant(m, "API", 6) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    Py_INCREF(&CoreType);
    if (PyModule_AddObject(m, "Core", (PyObject *)&CoreType) < 0) {
        Py_DECREF(&CoreType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
