/* _runtimetest_syscall.call(number, *args) -> (result, errno)
 *
 * syscall(2) for the static checker, in which ctypes cannot load a C library.
 * An argument is an int (passed as a machine word, negative values wrapping as
 * C does), None (0), or a bytes-like object (a pointer to its buffer; use a
 * bytearray where the kernel writes). errno is 0 when the call succeeded.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>

#define MAX_ARGS 6

static PyObject *call(PyObject *module, PyObject *args)
{
    Py_ssize_t count = PyTuple_GET_SIZE(args) - 1;
    if (count < 0 || count > MAX_ARGS) {
        PyErr_SetString(PyExc_TypeError, "call(number, *args) takes a number and at most 6 arguments");
        return NULL;
    }
    long number = PyLong_AsLong(PyTuple_GET_ITEM(args, 0));
    if (number == -1 && PyErr_Occurred())
        return NULL;

    unsigned long words[MAX_ARGS] = {0};
    Py_buffer views[MAX_ARGS];
    int held = 0, ok = 1;
    for (Py_ssize_t i = 0; i < count && ok; i++) {
        PyObject *arg = PyTuple_GET_ITEM(args, i + 1);
        if (arg == Py_None) {
            words[i] = 0;
        } else if (PyLong_Check(arg)) {
            words[i] = PyLong_AsUnsignedLongMask(arg);
            ok = !(words[i] == (unsigned long)-1 && PyErr_Occurred());
        } else if (PyObject_GetBuffer(arg, &views[held], PyBUF_WRITABLE) == 0
                   || (PyErr_Clear(), PyObject_GetBuffer(arg, &views[held], PyBUF_SIMPLE) == 0)) {
            words[i] = (unsigned long)views[held].buf;
            held++;
        } else {
            ok = 0;
        }
    }
    long result = -1;
    int error = 0;
    if (ok) {
        errno = 0;
        Py_BEGIN_ALLOW_THREADS
        result = syscall(number, words[0], words[1], words[2], words[3], words[4], words[5]);
        error = result == -1 ? errno : 0;
        Py_END_ALLOW_THREADS
    }
    while (held > 0)
        PyBuffer_Release(&views[--held]);
    if (!ok)
        return NULL;
    return Py_BuildValue("(li)", result, error);
}

static PyMethodDef methods[] = {
    {"call", call, METH_VARARGS, "call(number, *args) -> (result, errno): syscall(2)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef definition = {
    PyModuleDef_HEAD_INIT, "_runtimetest_syscall", "syscall(2) for the static checker", -1, methods,
};

PyMODINIT_FUNC PyInit__runtimetest_syscall(void)
{
    return PyModule_Create(&definition);
}
