/* rowcall.c -- staticml's one-row accelerator: a small CPython extension module.
 *
 * Why it exists: a one-row prediction is all fixed cost. Through ctypes, a foreign call
 * alone costs ~0.3 us, and turning a dict or a list of Python numbers into the float64
 * row costs ~1 us more (a numpy array per call). Here both happen in C: the values are
 * read straight from the dict / sequence / buffer into the row buffer staticml already
 * owns, and the generated library's batch entry point is called on it with n = 1.
 *
 * What it must never do: give a different answer than the Python path. So it handles
 * only the unambiguous cases and returns -1 ("not handled") for everything else; the
 * caller then takes its Python path, which encodes the row (and raises its errors) as
 * before. Handled here:
 *   numeric column: a Python float (or subclass, e.g. numpy.float64), int or bool;
 *   string column:  a str (looked up in the column's {category: code} dict, unseen -> -1),
 *                   None or a float NaN (missing -> NaN).
 * Not handled (-> -1): a missing dict key, None or a string in a numeric column, numpy
 * integers, Decimal, ..., ints too large for a double, str subclasses (numpy.str_).
 *
 * A dict lookup can run Python code (a key's __eq__), which could predict on this same
 * thread: values are gathered in a local buffer and copied into the row only once all
 * are read, so such a call cannot mix two rows.
 *
 * It is built on first use with the machine's C compiler against this Python's headers
 * and cached (staticml/runtime/accel.py); without one, staticml uses ctypes for every
 * call, with the same results. The GIL is held: a one-row call is shorter than the
 * release and re-acquire would be.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* The generated library's C ABI (docs/c-abi.md): NAME_predict_matrix and
 * NAME_predict_matrix_counted. */
typedef int (*predict_fn)(const double *x, size_t n, double *out, int32_t *status);
typedef size_t (*counted_fn)(const double *x, size_t n, double *out, int32_t *status,
                             uint64_t *counts);

typedef struct {
    PyObject_HEAD
    predict_fn predict;
    counted_fn counted; /* NULL: call predict (policy "ignore"/"error", or no entry point) */
    double *x;          /* the row buffer: n doubles */
    double *out;
    int32_t *status;
    uint64_t *counts;
    Py_ssize_t n;
    PyObject *keys;   /* tuple of str: column names in training order */
    PyObject *tables; /* tuple: None (numeric column) or dict {str: float code} */
    PyObject *owner;  /* whatever owns the buffers and the library: kept alive */
} Row;

/* The foreign call on the filled row. Returns 0 for the common case (predicted, no
 * contract violation counted), else bit 1 = the row violated the contract (its counts
 * are in the counts buffer), bit 2 = the row was refused (the code is in *status). */
static PyObject *row_run(Row *self) {
    size_t violated = 0;
    if (self->counted != NULL)
        violated = self->counted(self->x, 1, self->out, self->status, self->counts);
    else
        (void)self->predict(self->x, 1, self->out, self->status);
    return PyLong_FromLong((violated != 0 ? 1 : 0) | (*self->status != 0 ? 2 : 0));
}

static PyObject *not_handled(void) { return PyLong_FromLong(-1); }

/* Encode one value for column i into *dst: 1 done, 0 not handled (no exception set). */
static int encode(Row *self, Py_ssize_t i, PyObject *v, double *dst) {
    PyObject *table = PyTuple_GET_ITEM(self->tables, i);
    if (table == Py_None) { /* numeric column */
        if (PyFloat_Check(v)) { *dst = PyFloat_AS_DOUBLE(v); return 1; }
        if (PyLong_Check(v)) { /* int and bool: float(v), correctly rounded */
            double d = PyLong_AsDouble(v);
            if (d == -1.0 && PyErr_Occurred()) { PyErr_Clear(); return 0; } /* too big */
            *dst = d;
            return 1;
        }
        return 0;
    }
    if (PyUnicode_CheckExact(v)) { /* a str subclass could run code in its __eq__ */
        PyObject *code = PyDict_GetItemWithError(table, v); /* borrowed */
        if (code == NULL) {
            if (PyErr_Occurred()) { PyErr_Clear(); return 0; }
            *dst = -1.0; /* a category not seen in training */
            return 1;
        }
        *dst = PyFloat_AS_DOUBLE(code);
        return 1;
    }
    if (v == Py_None || (PyFloat_Check(v) && PyFloat_AS_DOUBLE(v) != PyFloat_AS_DOUBLE(v))) {
        *dst = Py_NAN; /* missing */
        return 1;
    }
    return 0;
}

static PyObject *row_call(Row *self, PyObject *Py_UNUSED(ignored)) { return row_run(self); }

/* A C-contiguous float64 buffer of n values, shaped (1, n) (an array row) or (n, 1) (a
 * one-row DataFrame's block): copied as it is. The caller has decided that it is a row. */
static PyObject *row_array(Row *self, PyObject *obj) {
    Py_buffer view;
    int ok;
    if (PyObject_GetBuffer(obj, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) != 0) {
        PyErr_Clear();
        return not_handled();
    }
    ok = view.ndim == 2 && view.shape[0] * view.shape[1] == self->n &&
         (view.shape[0] == 1 || view.shape[1] == 1) &&
         view.itemsize == 8 && view.format != NULL &&
         (strcmp(view.format, "d") == 0 || strcmp(view.format, "=d") == 0 ||
          strcmp(view.format, "@d") == 0);
    if (ok) memcpy(self->x, view.buf, (size_t)self->n * sizeof(double));
    PyBuffer_Release(&view);
    return ok ? row_run(self) : not_handled();
}

#define LOCAL_VALUES 256 /* rows this wide or narrower gather on the stack */

/* Gather column i's value with get(src, i) for every column, then copy the row in and
 * call. get returns a borrowed reference, or NULL for "absent" (no exception set). */
static PyObject *gather(Row *self, PyObject *src,
                        PyObject *(*get)(Row *, PyObject *, Py_ssize_t)) {
    double local[LOCAL_VALUES];
    double *vals = self->n <= LOCAL_VALUES ? local : PyMem_Malloc(self->n * sizeof(double));
    Py_ssize_t i;
    int ok = 1;
    if (vals == NULL) return PyErr_NoMemory();
    for (i = 0; ok && i < self->n; i++) {
        PyObject *v = get(self, src, i);
        ok = v != NULL && encode(self, i, v, &vals[i]);
    }
    if (ok) memcpy(self->x, vals, (size_t)self->n * sizeof(double));
    if (vals != local) PyMem_Free(vals);
    return ok ? row_run(self) : not_handled();
}

static PyObject *item_of_sequence(Row *self, PyObject *seq, Py_ssize_t i) {
    (void)self;
    return PySequence_Fast_ITEMS(seq)[i];
}

static PyObject *item_of_dict(Row *self, PyObject *d, Py_ssize_t i) {
    PyObject *v = PyDict_GetItemWithError(d, PyTuple_GET_ITEM(self->keys, i));
    if (v == NULL && PyErr_Occurred()) PyErr_Clear();
    return v;
}

/* A list or tuple of the row's values in training order. */
static PyObject *row_values(Row *self, PyObject *seq) {
    if (!(PyList_CheckExact(seq) || PyTuple_CheckExact(seq)) ||
        PySequence_Fast_GET_SIZE(seq) != self->n)
        return not_handled();
    return gather(self, seq, item_of_sequence);
}

/* A dict {column: value}: every column must be present (absent ones: the Python path
 * names the column, or takes the fallback). */
static PyObject *row_mapping(Row *self, PyObject *d) {
    if (!PyDict_CheckExact(d)) return not_handled();
    return gather(self, d, item_of_dict);
}

static void row_dealloc(Row *self) {
    Py_XDECREF(self->keys);
    Py_XDECREF(self->tables);
    Py_XDECREF(self->owner);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int row_init(Row *self, PyObject *args, PyObject *kwargs) {
    unsigned long long predict, counted, x, out, status, counts;
    PyObject *keys, *tables, *owner;
    Py_ssize_t i;
    static char *names[] = {"predict", "counted", "x", "out", "status", "counts", "keys",
                            "tables", "owner", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "KKKKKKO!O!O", names, &predict, &counted,
                                     &x, &out, &status, &counts, &PyTuple_Type, &keys,
                                     &PyTuple_Type, &tables, &owner))
        return -1;
    if (predict == 0 || x == 0 || out == 0 || status == 0 || (counted != 0 && counts == 0)) {
        PyErr_SetString(PyExc_ValueError, "NULL function or buffer address");
        return -1;
    }
    if (PyTuple_GET_SIZE(keys) != PyTuple_GET_SIZE(tables)) {
        PyErr_SetString(PyExc_ValueError, "keys and tables differ in length");
        return -1;
    }
    for (i = 0; i < PyTuple_GET_SIZE(tables); i++) {
        PyObject *t = PyTuple_GET_ITEM(tables, i);
        if (!PyUnicode_Check(PyTuple_GET_ITEM(keys, i)) ||
            (t != Py_None && !PyDict_CheckExact(t))) {
            PyErr_SetString(PyExc_TypeError, "keys must be str, tables None or dict");
            return -1;
        }
    }
    self->predict = (predict_fn)(uintptr_t)predict;
    self->counted = (counted_fn)(uintptr_t)counted;
    self->x = (double *)(uintptr_t)x;
    self->out = (double *)(uintptr_t)out;
    self->status = (int32_t *)(uintptr_t)status;
    self->counts = (uint64_t *)(uintptr_t)counts;
    self->n = PyTuple_GET_SIZE(keys);
    Py_INCREF(keys); Py_XSETREF(self->keys, keys);
    Py_INCREF(tables); Py_XSETREF(self->tables, tables);
    Py_INCREF(owner); Py_XSETREF(self->owner, owner);
    return 0;
}

static PyMethodDef row_methods[] = {
    {"call", (PyCFunction)row_call, METH_NOARGS,
     "call() -> 0, or bits 1 (violated) | 2 (refused), on the row buffer as it is"},
    {"array", (PyCFunction)row_array, METH_O,
     "array(X) -> as call(), or -1 if X is not n C-contiguous float64 values, (1, n) or (n, 1)"},
    {"values", (PyCFunction)row_values, METH_O,
     "values(list_or_tuple) -> as call(), or -1 if a value needs the Python path"},
    {"mapping", (PyCFunction)row_mapping, METH_O,
     "mapping(dict) -> as call(), or -1 if a column is absent or needs the Python path"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RowType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "staticml_rowcall.Row",
    .tp_basicsize = sizeof(Row),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One thread's one-row call into a generated library.",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)row_init,
    .tp_dealloc = (destructor)row_dealloc,
    .tp_methods = row_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "staticml_rowcall", "staticml's one-row accelerator.", -1, NULL,
};

PyMODINIT_FUNC PyInit_staticml_rowcall(void) {
    PyObject *m;
    if (PyType_Ready(&RowType) < 0) return NULL;
    m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&RowType);
    if (PyModule_AddObject(m, "Row", (PyObject *)&RowType) < 0) {
        Py_DECREF(&RowType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
