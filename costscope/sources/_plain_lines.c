/* Plain exposition lines taken apart in one pass: the compiled half of exposition_plain.

   split(lines, first) reads a list of str, one line each (line numbers from `first`), and
   returns None where a sample line is not of the plain shape (exposition_lines._FAST: single
   spaces, plain label values, no exemplar), names a label twice, or is longer than
   MAX_SAMPLE_BYTES; exposition_plain then hands the block to the columnar parser, which names
   what is wrong. Otherwise it returns the columns of the samples and labels as Arrow buffers
   (int64 line numbers; large_string offsets and data; a validity bitmap for timestamps), sample
   names by runs of equal names, what the `# HELP ` and `# TYPE ` lines said (checked as
   exposition_plain._comments checks them: names, blanks by str.isspace, types), and every other
   comment line as a (line, text) pair. Values and timestamps stay text: polars casts them, as the
   Python path does, so both read numbers alike. The layout is in _plain_lines.pyi.

   Every byte is bounds-checked against the line's length (a line may hold NUL): the input is
   untrusted text. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_SAMPLE_BYTES (1 << 18) /* exposition_lines.MAX_LINE_BYTES / 4, as the Python path */
#define MAX_PAIRS 64               /* more on one line: the columnar parser's (the repeat check here is quadratic) */

typedef struct {
    char *p;
    size_t len, cap;
} Buf;

static int buf_put(Buf *b, const void *src, size_t n) {
    if (n > SIZE_MAX / 2 - b->len) {
        PyErr_NoMemory();
        return -1;
    }
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *p = PyMem_Realloc(b->p, cap);
        if (p == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

static int put_i64(Buf *b, int64_t v) { return buf_put(b, &v, sizeof v); }

/* a string column: Arrow large_string offsets and data, and (timestamps) one validity byte a row */
typedef struct {
    Buf offsets, data, valid;
    Py_ssize_t rows, nulls;
} Column;

static int column_start(Column *c) { return put_i64(&c->offsets, 0); }

static int column_add(Column *c, const char *s, size_t n) {
    if (buf_put(&c->data, s, n) < 0 || put_i64(&c->offsets, (int64_t)c->data.len) < 0) return -1;
    c->rows++;
    return 0;
}

static int column_add_opt(Column *c, const char *s, size_t n, int present) {
    char v = present ? 1 : 0;
    if (column_add(c, s, present ? n : 0) < 0 || buf_put(&c->valid, &v, 1) < 0) return -1;
    if (!present) c->nulls++;
    return 0;
}

static void column_free(Column *c) {
    PyMem_Free(c->offsets.p);
    PyMem_Free(c->data.p);
    PyMem_Free(c->valid.p);
}

static PyObject *bytes_of(const Buf *b) { return PyBytes_FromStringAndSize(b->p ? b->p : "", (Py_ssize_t)b->len); }

/* the validity bytes as an Arrow bitmap (least significant bit first) */
static PyObject *bitmap_of(const Column *c) {
    Py_ssize_t n = (c->rows + 7) / 8;
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (out == NULL) return NULL;
    unsigned char *bits = (unsigned char *)PyBytes_AS_STRING(out);
    memset(bits, 0, (size_t)n);
    for (Py_ssize_t i = 0; i < c->rows; i++)
        if (c->valid.p[i]) bits[i / 8] |= (unsigned char)(1u << (i % 8));
    return out;
}

static PyObject *column_tuple(const Column *c) { return Py_BuildValue("(NN)", bytes_of(&c->offsets), bytes_of(&c->data)); }

static inline int is_alpha(unsigned char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }
static inline int is_digit(unsigned char ch) { return ch >= '0' && ch <= '9'; }
static inline int name_start(unsigned char ch) { return is_alpha(ch) || ch == '_' || ch == ':'; }
static inline int name_char(unsigned char ch) { return name_start(ch) || is_digit(ch); }
static inline int label_start(unsigned char ch) { return is_alpha(ch) || ch == '_'; }
static inline int label_char(unsigned char ch) { return label_start(ch) || is_digit(ch); }
/* _SIMPLE_PAIR's value: no quote, backslash, closing brace or newline; no comma first */
static inline int value_rest(unsigned char ch) { return ch != '"' && ch != '\\' && ch != '}' && ch != '\n'; }
/* _FAST's value and timestamp: no blank, '#', brace or quote */
static inline int number_char(unsigned char ch) {
    return ch != ' ' && ch != '\t' && ch != '#' && ch != '{' && ch != '}' && ch != '"';
}

typedef struct {
    Buf sample_lines, label_lines, runs;
    Column values, stamps, label_names, label_values;
    /* sample names by runs of equal names (a histogram's buckets, a metric's series): a run's
       name and first line, and each sample's run (int32) */
    PyObject *run_names, *run_lines;
    const unsigned char *last_name;
    size_t last_len;
    /* HELP and TYPE lines: names in order of mention, then each kind's names and what it said */
    PyObject *mentions, *help_names, *help_texts, *type_names, *type_kinds, *type_lines, *others;
    Py_ssize_t escaped; /* HELP texts with a backslash */
} Out;

#define N_TYPES 9
static const char *const TYPES[N_TYPES] = {"counter", "gauge",   "histogram", "gaugehistogram", "summary",
                                           "info",    "stateset", "unknown",   "untyped"};
static PyObject *type_names[N_TYPES]; /* each type as one str (untyped as unknown), made at import */


static int append_new(PyObject *list, PyObject *item) {
    if (item == NULL) return -1;
    int rc = PyList_Append(list, item);
    Py_DECREF(item);
    return rc;
}

/* `# HELP name text` or `# TYPE name type` (prefix of 7 ASCII bytes); 0 where not plain, -1 on error */
static int comment_line(Out *out, int64_t line, PyObject *text, const unsigned char *s, size_t n, int help) {
    size_t i = 7;
    if (i >= n || !name_start(s[i])) return 0;
    for (i++; i < n && name_char(s[i]); i++);
    size_t name_end = i;
    if (i < n && s[i] != ' ') return 0;
    size_t rest = i < n ? i + 1 : n; /* str.partition(" "): no space, no text */
    /* a family's HELP and TYPE lines are mostly neighbours: the same name, one str */
    PyObject *last = PyList_GET_SIZE(out->mentions) ? PyList_GET_ITEM(out->mentions, PyList_GET_SIZE(out->mentions) - 1) : NULL;
    PyObject *name;
    if (last != NULL && PyUnicode_GET_LENGTH(last) == (Py_ssize_t)(name_end - 7) &&
        memcmp(PyUnicode_DATA(last), s + 7, name_end - 7) == 0) { /* names are ASCII: one byte a character */
        name = Py_NewRef(last);
    } else {
        name = PyUnicode_FromStringAndSize((const char *)s + 7, (Py_ssize_t)(name_end - 7));
    }
    if (name == NULL || PyList_Append(out->mentions, name) < 0) {
        Py_XDECREF(name);
        return -1;
    }
    int rc;
    if (help) {
        /* str.split would have eaten leading blanks, the columnar parser a line's '\r' or '\n' */
        if (rest < n && Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(text, (Py_ssize_t)rest))) rc = 0;
        else if (rest < n && (s[n - 1] == '\r' || s[n - 1] == '\n')) rc = 0;
        else if (PyList_Append(out->help_names, name) < 0) rc = -1;
        else { /* the prefix is ASCII: byte and character offsets agree up to the text */
            rc = append_new(out->help_texts, PyUnicode_Substring(text, (Py_ssize_t)rest, PyUnicode_GET_LENGTH(text))) < 0 ? -1 : 1;
            if (memchr(s + rest, '\\', n - rest) != NULL) out->escaped++;
        }
    } else {
        /* str.strip(): by characters (the prefix is ASCII, so `rest` is a character offset too) */
        Py_ssize_t a = (Py_ssize_t)rest, b = PyUnicode_GET_LENGTH(text);
        while (a < b && Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(text, a))) a++;
        while (b > a && Py_UNICODE_ISSPACE(PyUnicode_READ_CHAR(text, b - 1))) b--;
        PyObject *kind = NULL;
        for (size_t k = 0; k < N_TYPES && kind == NULL; k++) {
            Py_ssize_t len = (Py_ssize_t)strlen(TYPES[k]), c = 0;
            while (c < len && c < b - a && PyUnicode_READ_CHAR(text, a + c) == (Py_UCS4)TYPES[k][c]) c++;
            if (c == len && len == b - a) kind = type_names[k];
        }
        if (kind == NULL) rc = 0;
        else if (PyList_Append(out->type_names, name) < 0 || PyList_Append(out->type_kinds, kind) < 0 ||
                 append_new(out->type_lines, PyLong_FromLongLong(line)) < 0)
            rc = -1;
        else rc = 1;
    }
    Py_DECREF(name);
    return rc;
}

/* One sample line into `out`; 0 where it is not plain (nothing else to do), -1 on a Python error. */
static int sample_line(Out *out, int64_t line, const unsigned char *s, size_t n) {
    size_t i = 0, starts[MAX_PAIRS], lens[MAX_PAIRS];
    int pairs = 0;
    if (n > MAX_SAMPLE_BYTES || !name_start(s[0])) return 0;
    for (i = 1; i < n && name_char(s[i]); i++);
    size_t name_end = i;
    if (i < n && s[i] == '{') {
        i++;
        if (i < n && s[i] == '}') {
            i++;
        } else {
            for (;;) {
                size_t ls = i;
                if (i >= n || !label_start(s[i])) return 0;
                for (i++; i < n && label_char(s[i]); i++);
                size_t le = i;
                if (i + 1 >= n || s[i] != '=' || s[i + 1] != '"') return 0;
                i += 2;
                size_t vs = i;
                if (i < n && s[i] != '"') {
                    if (!value_rest(s[i]) || s[i] == ',') return 0;
                    for (i++; i < n && value_rest(s[i]); i++);
                }
                if (i >= n || s[i] != '"') return 0;
                size_t ve = i++;
                if (pairs == MAX_PAIRS) return 0;
                for (int k = 0; k < pairs; k++)
                    if (lens[k] == le - ls && memcmp(s + starts[k], s + ls, le - ls) == 0) return 0;
                starts[pairs] = ls;
                lens[pairs++] = le - ls;
                if (put_i64(&out->label_lines, line) < 0 ||
                    column_add(&out->label_names, (const char *)s + ls, le - ls) < 0 ||
                    column_add(&out->label_values, (const char *)s + vs, ve - vs) < 0)
                    return -1;
                if (i < n && s[i] == ',') {
                    i++;
                    if (i < n && s[i] == '}') {
                        i++;
                        break;
                    }
                } else if (i < n && s[i] == '}') {
                    i++;
                    break;
                } else {
                    return 0;
                }
            }
        }
    }
    if (i >= n || s[i] != ' ') return 0;
    size_t vs = ++i;
    for (; i < n && number_char(s[i]); i++);
    size_t ve = i;
    if (ve == vs) return 0;
    size_t ts = 0, te = 0;
    if (i < n) {
        if (s[i] != ' ') return 0;
        ts = ++i;
        for (; i < n && number_char(s[i]); i++);
        te = i;
        if (te == ts || i != n) return 0;
    }
    if (out->last_name == NULL || out->last_len != name_end || memcmp(out->last_name, s, name_end) != 0) {
        if (append_new(out->run_names, PyUnicode_FromStringAndSize((const char *)s, (Py_ssize_t)name_end)) < 0 ||
            append_new(out->run_lines, PyLong_FromLongLong(line)) < 0)
            return -1;
        out->last_name = s; /* UTF-8 kept by its str, which the caller's list holds */
        out->last_len = name_end;
    }
    int32_t run = (int32_t)(PyList_GET_SIZE(out->run_names) - 1);
    if (put_i64(&out->sample_lines, line) < 0 || buf_put(&out->runs, &run, sizeof run) < 0 ||
        column_add(&out->values, (const char *)s + vs, ve - vs) < 0 ||
        column_add_opt(&out->stamps, (const char *)s + ts, te - ts, te > ts) < 0)
        return -1;
    return 1;
}

static void out_free(Out *out) {
    Py_XDECREF(out->mentions);
    Py_XDECREF(out->help_names);
    Py_XDECREF(out->help_texts);
    Py_XDECREF(out->type_names);
    Py_XDECREF(out->type_kinds);
    Py_XDECREF(out->type_lines);
    Py_XDECREF(out->others);
    PyMem_Free(out->sample_lines.p);
    PyMem_Free(out->label_lines.p);
    PyMem_Free(out->runs.p);
    Py_XDECREF(out->run_names);
    Py_XDECREF(out->run_lines);
    column_free(&out->values);
    column_free(&out->stamps);
    column_free(&out->label_names);
    column_free(&out->label_values);
}

static PyObject *split(PyObject *self, PyObject *args) {
    PyObject *lines;
    long long first;
    (void)self;
    if (!PyArg_ParseTuple(args, "O!L", &PyList_Type, &lines, &first)) return NULL;
    Out out;
    memset(&out, 0, sizeof out);
    PyObject *result = NULL;
    PyObject **lists[] = {&out.mentions,   &out.help_names, &out.help_texts, &out.type_names,
                          &out.type_kinds, &out.type_lines, &out.others,    &out.run_names,
                          &out.run_lines};
    for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++)
        if ((*lists[k] = PyList_New(0)) == NULL) goto done;
    if (column_start(&out.values) < 0 || column_start(&out.stamps) < 0 ||
        column_start(&out.label_names) < 0 || column_start(&out.label_values) < 0)
        goto done;
    Py_ssize_t count = PyList_GET_SIZE(lines);
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *text = PyList_GET_ITEM(lines, k);
        if (!PyUnicode_Check(text)) {
            PyErr_SetString(PyExc_TypeError, "lines must be str");
            goto done;
        }
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(text, &n);
        if (s == NULL) {
            PyErr_Clear(); /* a lone surrogate: not plain */
            result = Py_NewRef(Py_None);
            goto done;
        }
        if (n == 0) continue;
        int64_t line = (int64_t)first + k;
        int ok;
        if (s[0] != '#') {
            ok = sample_line(&out, line, (const unsigned char *)s, (size_t)n);
        } else if (n >= 7 && (memcmp(s, "# HELP ", 7) == 0 || memcmp(s, "# TYPE ", 7) == 0)) {
            ok = comment_line(&out, line, text, (const unsigned char *)s, (size_t)n, s[2] == 'H');
        } else { /* any other comment: exposition_plain checks it names no keyword */
            ok = append_new(out.others, Py_BuildValue("(LO)", (long long)line, text)) < 0 ? -1 : 1;
        }
        if (ok < 0) goto done;
        if (ok == 0) {
            result = Py_NewRef(Py_None);
            goto done;
        }
    }
    result = Py_BuildValue("((OOOnOOOO)nN(OON)N(NNNn)nNNN)", out.mentions, out.help_names, out.help_texts,
                           out.escaped, out.type_names, out.type_kinds, out.type_lines, out.others, out.values.rows,
                           bytes_of(&out.sample_lines), out.run_names, out.run_lines, bytes_of(&out.runs),
                           column_tuple(&out.values), bytes_of(&out.stamps.offsets), bytes_of(&out.stamps.data),
                           bitmap_of(&out.stamps), out.stamps.nulls, out.label_names.rows,
                           bytes_of(&out.label_lines), column_tuple(&out.label_names),
                           column_tuple(&out.label_values));
done:
    out_free(&out);
    return result;
}

static PyMethodDef methods[] = {
    {"split", split, METH_VARARGS,
     "split(lines, first) -> columns of a plain block's samples and labels, or None where it is not plain."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_plain_lines",
    .m_doc = "Plain exposition lines taken apart in one pass.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__plain_lines(void) {
    for (size_t k = 0; k < N_TYPES; k++)
        if (type_names[k] == NULL &&
            (type_names[k] = PyUnicode_InternFromString(strcmp(TYPES[k], "untyped") ? TYPES[k] : "unknown")) == NULL)
            return NULL;
    return PyModule_Create(&module);
}
