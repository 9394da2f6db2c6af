/* The static checker's entry: Debian's libpython linked statically, the modules
 * the checker imports appended to this very file as a zip archive.
 *
 * Nothing is unpacked: the interpreter imports straight from the archive, so the
 * binary starts in a read-only root with no /tmp, as any uid, under a tight
 * memory limit, and is itself the process the runtime started.
 *
 * ENTRY_MODULE (set at compile time) names the module whose entry() runs; the
 * only failure left before it runs is one the checker reports in its own format.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef ENTRY_MODULE
#error "build with -DENTRY_MODULE=\"package.module\""
#endif

PyMODINIT_FUNC PyInit__prctl(void);
PyMODINIT_FUNC PyInit__runtimetest_syscall(void);

/* Where the interpreter reads the appended archive: this file, by the link the
 * kernel keeps to it, else by the name it was started with. */
static const char *archive_path(const char *argv0)
{
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        close(fd);
        return "/proc/self/exe";
    }
    fd = open(argv0, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && strchr(argv0, '/') != NULL) {
        close(fd);
        return argv0;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* The one case the checker cannot start: it cannot read its own file. Say so in
 * the checker's failure-line format and as a TAP bail-out. */
static int refuse_to_start(void)
{
    fputs("checker.start: process.args[0]: expected the checker's binary readable by the process, "
          "found neither /proc/self/exe nor argv[0] readable (mount /proc, or give the binary "
          "mode 0755) [MUST README.md#using-it-in-your-own-harness]\n", stderr);
    fputs("TAP version 13\nBail out! the checker cannot read its own binary\n", stdout);
    return 3;
}

static int fail(PyStatus status, PyConfig *config)
{
    PyConfig_Clear(config);
    if (PyStatus_IsExit(status))
        return status.exitcode;
    fprintf(stderr, "checker.start: process.args[0]: expected the checker's interpreter to start, "
            "found %s%s%s [MUST README.md#using-it-in-your-own-harness]\n", status.func ? status.func : "", status.func ? ": " : "",
            status.err_msg ? status.err_msg : "an error");
    fputs("TAP version 13\nBail out! the checker's interpreter did not start\n", stdout);
    return 3;
}

int main(int argc, char **argv)
{
    const char *archive = archive_path(argc > 0 ? argv[0] : "");
    if (archive == NULL)
        return refuse_to_start();

    PyImport_AppendInittab("_prctl", PyInit__prctl);
    PyImport_AppendInittab("_runtimetest_syscall", PyInit__runtimetest_syscall);

    /* Isolated (no PYTHON* variables, no site, no user directory) and UTF-8:
     * what the runtime put in the environment must not change how we run. */
    PyPreConfig preconfig;
    PyPreConfig_InitIsolatedConfig(&preconfig);
    preconfig.utf8_mode = 1;
    PyConfig config;
    PyConfig_InitIsolatedConfig(&config);
    PyStatus status = Py_PreInitialize(&preconfig);
    if (PyStatus_Exception(status))
        return fail(status, &config);
    config.site_import = 0;
    config.write_bytecode = 0;
    config.pathconfig_warnings = 0;
    config.module_search_paths_set = 1;
    status = PyConfig_SetBytesArgv(&config, argc, argv);
    if (PyStatus_Exception(status))
        return fail(status, &config);
    wchar_t *path = Py_DecodeLocale(archive, NULL);
    if (path == NULL)
        return fail(PyStatus_NoMemory(), &config);
    status = PyWideStringList_Append(&config.module_search_paths, path);
    PyMem_RawFree(path);
    if (PyStatus_Exception(status))
        return fail(status, &config);
    /* A short-lived program: the cyclic garbage collector's passes during the
     * imports cost more than the little it could free before exit. */
    status = PyConfig_SetString(&config, &config.run_command,
                                L"import gc\ngc.disable()\nfrom " ENTRY_MODULE " import entry\nentry()\n");
    if (PyStatus_Exception(status))
        return fail(status, &config);
    status = Py_InitializeFromConfig(&config);
    if (PyStatus_Exception(status))
        return fail(status, &config);
    PyConfig_Clear(&config);
    return Py_RunMain();
}
