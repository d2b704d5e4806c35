/*
 * runlet.c: runlet guest ABI v1 for the QuickJS interpreter.
 *
 * This is the host glue of runlet's QuickJS plugin, compiled together with
 * the QuickJS 2021-03-27 sources into a WASI reactor module (see build.sh).
 * It is runlet's own code (the same licence as the rest of runlet).
 *
 * Exports (ABI v1, see pdk/doc.go in the runlet repository):
 *
 *   runlet_abi_v1()                    marker
 *   runlet_alloc(size) -> ptr          a buffer for the host, valid until the next call
 *   runlet_load(ptr, len) -> 0|1       compile and evaluate the script (an ES module) once
 *   runlet_run(ptr, len) -> 0|1        call the module's main with {"args":[...]}
 *   runlet_warmup()                    exercise lazy initialisation before the snapshot
 *   runlet_reseed()                    reseed Math.random after a snapshot restore
 *
 * Imports, module "runlet": result_set, error_set, log, call, recv.
 *
 * The script is evaluated as the module named "<script>"; stack traces of
 * errors read "at main (<script>:LINE)" with LINE the 1-based line of the
 * source handed to runlet_load.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cutils.h"
#include "quickjs.h"

/* JS_SetMemoryLimit for the runtime, in bytes; 0 means no limit of
   QuickJS's own: the host caps the module's linear memory, and malloc
   failing there surfaces in JS as an out-of-memory exception. */
#ifndef RUNLET_QJS_MEMORY_LIMIT
#define RUNLET_QJS_MEMORY_LIMIT 0
#endif

/* Size of the C (shadow) stack in linear memory. build.sh passes the same
   value to the linker (-z stack-size). QuickJS checks JS recursion against
   this size minus RUNLET_QJS_STACK_MARGIN, which leaves room for the C code
   that runs without checks (number formatting, regexp, JSON, the glue). */
#ifndef RUNLET_QJS_STACK_SIZE
#define RUNLET_QJS_STACK_SIZE (1024 * 1024)
#endif
#define RUNLET_QJS_STACK_MARGIN (128 * 1024)

/* The module name of the user's script in stack traces. */
#define SCRIPT_NAME "<script>"

/* Host-call operations and statuses (pdk/op.go). */
enum {
    OP_STATE_GET = 1,
    OP_STATE_SET = 2,
    OP_VARIABLE_GET = 4,
    OP_RESOURCE_GET = 5,
};
enum {
    STATUS_OK = 0,
    STATUS_FAILED = 1,
    STATUS_UNSUPPORTED = 2,
};
enum {
    LEVEL_DEBUG = 0,
    LEVEL_INFO = 1,
    LEVEL_WARN = 2,
    LEVEL_ERROR = 3,
};

#define IMPORT(name) __attribute__((import_module("runlet"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

IMPORT("result_set") void host_result_set(const void *ptr, uint32_t len);
IMPORT("error_set") void host_error_set(const void *ptr, uint32_t len);
IMPORT("log") void host_log(uint32_t level, const void *ptr, uint32_t len);
IMPORT("call") uint64_t host_call(uint32_t op, const void *ptr, uint32_t len);
IMPORT("recv") void host_recv(void *ptr);

static JSRuntime *rt;
static JSContext *ctx;
static JSValue main_fn = JS_UNDEFINED; /* the script's exported main */
static BOOL loaded;

/* The buffer runlet_alloc hands out; one byte longer than asked for, so
   that QuickJS's parsers find the NUL terminator they need. */
static char *inbuf;
static size_t inbuf_cap;

/* ---------------------------------------------------------------------- */
/* Math.random: xorshift64* seeded from WASI random_get, reseeded by the
   host after it restores a snapshot (otherwise every job started from the
   same snapshot would draw the same numbers). */

static uint64_t rand_state;

static void rand_seed(void)
{
    uint64_t s = 0;
    if (getentropy(&s, sizeof(s)) != 0 || s == 0)
        s ^= 0x9e3779b97f4a7c15ULL;
    rand_state = s;
}

static JSValue js_math_random(JSContext *c, JSValueConst this_val, int argc,
                              JSValueConst *argv)
{
    uint64_t x = rand_state;
    union {
        double d;
        uint64_t u;
    } u;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rand_state = x;
    /* 52 random mantissa bits in [1, 2), minus one */
    u.u = ((x * 0x2545F4914F6CDD1DULL) >> 12) | 0x3ff0000000000000ULL;
    return JS_NewFloat64(c, u.d - 1.0);
}

/* ---------------------------------------------------------------------- */
/* DynBuf with a realloc that frees on size 0: dbuf_free relies on that,
   and wasi-libc's dlmalloc returns a minimal chunk for realloc(p, 0)
   instead (a 16-byte leak per buffer with dbuf_init's default). */

static void *glue_realloc(void *opaque, void *ptr, size_t size)
{
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, size);
}

static void buf_init(DynBuf *b)
{
    dbuf_init2(b, NULL, glue_realloc);
}

/* ---------------------------------------------------------------------- */
/* Reporting */

/* Stack traces keep their first lines only (a stack overflow has
   thousands of identical frames). */
#define MAX_STACK_LINES 50

/* stack (consumed) cut after MAX_STACK_LINES lines, with a line saying how
   many were dropped. */
static JSValue trim_stack(JSValue stack)
{
    const char *p;
    size_t n, i, cut = 0;
    int lines = 0, more = 0;
    JSValue out;
    char tail[64];
    DynBuf b;

    p = JS_ToCStringLen(ctx, &n, stack);
    if (!p) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        return stack;
    }
    for(i = 0; i < n; i++) {
        if (p[i] != '\n')
            continue;
        if (lines < MAX_STACK_LINES) {
            if (++lines == MAX_STACK_LINES)
                cut = i + 1;
        } else {
            more++;
        }
    }
    if (more == 0) {
        JS_FreeCString(ctx, p);
        return stack;
    }
    buf_init(&b);
    dbuf_put(&b, (const uint8_t *)p, cut);
    snprintf(tail, sizeof(tail), "    ... %d more\n", more);
    dbuf_putstr(&b, tail);
    out = b.error ? JS_DupValue(ctx, stack) : JS_NewStringLen(ctx, (const char *)b.buf, b.size);
    dbuf_free(&b);
    JS_FreeCString(ctx, p);
    JS_FreeValue(ctx, stack);
    return out;
}

/* String(obj[prop]), or def when that is undefined or throws (the
   exception is dropped). */
static JSValue string_prop(JSValueConst obj, const char *prop, const char *def)
{
    JSValue v = JS_GetPropertyStr(ctx, obj, prop), s;
    if (JS_IsUndefined(v) || JS_IsException(v)) {
        if (JS_IsException(v))
            JS_FreeValue(ctx, JS_GetException(ctx));
        return def ? JS_NewString(ctx, def) : JS_UNDEFINED;
    }
    s = JS_ToString(ctx, v);
    JS_FreeValue(ctx, v);
    if (JS_IsException(s)) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        return def ? JS_NewString(ctx, def) : JS_UNDEFINED;
    }
    return s;
}

/* The error document of a failed job or load: {"name","message","stack"}
   built from exc (consumed). */
static void report_exception(JSValue exc)
{
    JSValue doc = JS_NewObject(ctx);
    JSValue json;
    const char *s;
    size_t n;

    if (JS_IsError(ctx, exc)) {
        JSValue stack = string_prop(exc, "stack", NULL);
        JS_SetPropertyStr(ctx, doc, "name", string_prop(exc, "name", "Error"));
        JS_SetPropertyStr(ctx, doc, "message", string_prop(exc, "message", ""));
        if (JS_IsString(stack))
            JS_SetPropertyStr(ctx, doc, "stack", trim_stack(stack));
    } else {
        /* a thrown non-Error: its JSON form if it has one, else String(v) */
        JSValue msg = JS_UNDEFINED;
        if (JS_IsObject(exc)) {
            msg = JS_JSONStringify(ctx, exc, JS_UNDEFINED, JS_UNDEFINED);
            if (JS_IsException(msg)) {
                JS_FreeValue(ctx, JS_GetException(ctx));
                msg = JS_UNDEFINED;
            }
        }
        if (!JS_IsString(msg)) {
            JS_FreeValue(ctx, msg);
            msg = JS_ToString(ctx, exc);
            if (JS_IsException(msg)) {
                JS_FreeValue(ctx, JS_GetException(ctx));
                msg = JS_NewString(ctx, "uncaught exception");
            }
        }
        JS_SetPropertyStr(ctx, doc, "name", JS_NewString(ctx, "Error"));
        JS_SetPropertyStr(ctx, doc, "message", msg);
    }
    JS_FreeValue(ctx, exc);
    json = JS_JSONStringify(ctx, doc, JS_UNDEFINED, JS_UNDEFINED);
    JS_FreeValue(ctx, doc);
    s = JS_IsString(json) ? JS_ToCStringLen(ctx, &n, json) : NULL;
    if (s) {
        host_error_set(s, n);
        JS_FreeCString(ctx, s);
    } else {
        static const char oom[] =
            "{\"name\":\"InternalError\",\"message\":\"cannot encode the error (out of memory)\"}";
        if (JS_IsException(json))
            JS_FreeValue(ctx, JS_GetException(ctx));
        host_error_set(oom, sizeof(oom) - 1);
    }
    JS_FreeValue(ctx, json);
}

/* An error document for a failure of the glue itself. */
static void report_message(const char *name, const char *msg)
{
    if (ctx) {
        JSValue err = JS_NewError(ctx);
        JS_DefinePropertyValueStr(ctx, err, "message", JS_NewString(ctx, msg),
                                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
        JS_DefinePropertyValueStr(ctx, err, "name", JS_NewString(ctx, name),
                                  JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
        report_exception(err);
    } else {
        static const char nort[] =
            "{\"name\":\"InternalError\",\"message\":\"cannot create the QuickJS runtime (out of memory)\"}";
        host_error_set(nort, sizeof(nort) - 1);
    }
}

/* ---------------------------------------------------------------------- */
/* console */

/* Append console's rendering of v: strings as they are, Errors as
   "Name: message" and their stack, other objects as JSON, the rest via
   String(v). */
static void console_append(DynBuf *b, JSValueConst v)
{
    JSValue s = JS_UNDEFINED;
    const char *p;
    size_t n;

    if (JS_IsError(ctx, v)) {
        JSValue stack = JS_GetPropertyStr(ctx, v, "stack");
        if (JS_IsString(stack))
            stack = trim_stack(stack);
        s = JS_ToString(ctx, v);
        if (!JS_IsException(s) && JS_IsString(stack)) {
            p = JS_ToCStringLen(ctx, &n, s);
            if (p) {
                dbuf_put(b, (const uint8_t *)p, n);
                JS_FreeCString(ctx, p);
            }
            JS_FreeValue(ctx, s);
            p = JS_ToCStringLen(ctx, &n, stack);
            if (p) {
                while (n > 0 && p[n - 1] == '\n')
                    n--;
                if (n > 0)
                    dbuf_putc(b, '\n');
                dbuf_put(b, (const uint8_t *)p, n);
                JS_FreeCString(ctx, p);
            }
            JS_FreeValue(ctx, stack);
            return;
        }
        JS_FreeValue(ctx, stack);
    } else if (JS_IsObject(v) && !JS_IsFunction(ctx, v)) {
        s = JS_JSONStringify(ctx, v, JS_UNDEFINED, JS_UNDEFINED);
        if (!JS_IsString(s)) {
            if (JS_IsException(s))
                JS_FreeValue(ctx, JS_GetException(ctx)); /* e.g. cyclic */
            s = JS_UNDEFINED;
        }
    }
    if (JS_IsUndefined(s)) {
        if (JS_IsSymbol(v)) {
            JSValue global = JS_GetGlobalObject(ctx);
            JSValue str = JS_GetPropertyStr(ctx, global, "String");
            s = JS_Call(ctx, str, JS_UNDEFINED, 1, &v);
            JS_FreeValue(ctx, str);
            JS_FreeValue(ctx, global);
        } else {
            s = JS_ToString(ctx, v);
        }
    }
    if (JS_IsException(s)) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        dbuf_putstr(b, "[unprintable]");
        return;
    }
    p = JS_ToCStringLen(ctx, &n, s);
    if (p) {
        dbuf_put(b, (const uint8_t *)p, n);
        JS_FreeCString(ctx, p);
    }
    JS_FreeValue(ctx, s);
}

static JSValue js_console(JSContext *c, JSValueConst this_val, int argc,
                          JSValueConst *argv, int level)
{
    DynBuf b;
    int i;

    buf_init(&b);
    for(i = 0; i < argc; i++) {
        if (i > 0)
            dbuf_putc(&b, ' ');
        console_append(&b, argv[i]);
    }
    if (b.error) {
        dbuf_free(&b);
        return JS_ThrowOutOfMemory(c);
    }
    host_log(level, b.buf, b.size);
    dbuf_free(&b);
    return JS_UNDEFINED;
}

static const JSCFunctionListEntry js_console_funcs[] = {
    JS_CFUNC_MAGIC_DEF("log", 1, js_console, LEVEL_INFO),
    JS_CFUNC_MAGIC_DEF("info", 1, js_console, LEVEL_INFO),
    JS_CFUNC_MAGIC_DEF("debug", 1, js_console, LEVEL_DEBUG),
    JS_CFUNC_MAGIC_DEF("trace", 1, js_console, LEVEL_DEBUG),
    JS_CFUNC_MAGIC_DEF("warn", 1, js_console, LEVEL_WARN),
    JS_CFUNC_MAGIC_DEF("error", 1, js_console, LEVEL_ERROR),
};

/* ---------------------------------------------------------------------- */
/* The "runlet" / "windmill-client" module */

/* A promise already settled with v (consumed): fulfilled, or rejected
   when reject is set. */
static JSValue settled_promise(JSContext *c, JSValue v, BOOL reject)
{
    JSValue funcs[2], p, r;

    p = JS_NewPromiseCapability(c, funcs);
    if (JS_IsException(p)) {
        JS_FreeValue(c, v);
        return p;
    }
    r = JS_Call(c, funcs[reject ? 1 : 0], JS_UNDEFINED, 1, (JSValueConst *)&v);
    JS_FreeValue(c, r);
    JS_FreeValue(c, v);
    JS_FreeValue(c, funcs[0]);
    JS_FreeValue(c, funcs[1]);
    return p;
}

/* A promise rejected with the pending exception. */
static JSValue rejected_with_exception(JSContext *c)
{
    return settled_promise(c, JS_GetException(c), TRUE);
}

static JSValue new_error(JSContext *c, const char *msg, size_t len)
{
    JSValue err = JS_NewError(c);
    JS_DefinePropertyValueStr(c, err, "message", JS_NewStringLen(c, msg, len),
                              JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    return err;
}

/* Call host operation op with the JSON request req (consumed, a JS
   string) and return a settled promise of the parsed response. When
   null_is_undefined is set, a JSON null response fulfils with undefined. */
static JSValue host_op(JSContext *c, uint32_t op, const char *what, JSValue req,
                       BOOL null_is_undefined)
{
    const char *q;
    size_t qn;
    uint64_t r;
    uint32_t status, n;
    char *resp;
    JSValue v;

    if (JS_IsException(req))
        return rejected_with_exception(c);
    q = JS_ToCStringLen(c, &qn, req);
    JS_FreeValue(c, req);
    if (!q)
        return rejected_with_exception(c);
    r = host_call(op, q, qn);
    JS_FreeCString(c, q);
    status = (uint32_t)(r >> 32);
    n = (uint32_t)r;
    resp = malloc((size_t)n + 1);
    if (!resp) {
        JS_ThrowOutOfMemory(c);
        return rejected_with_exception(c);
    }
    if (n > 0)
        host_recv(resp);
    resp[n] = '\0';
    switch (status) {
    case STATUS_OK:
        if (n == 0) {
            v = JS_UNDEFINED;
        } else {
            v = JS_ParseJSON(c, resp, n, "<host response>");
            if (JS_IsException(v)) {
                free(resp);
                return rejected_with_exception(c);
            }
            if (null_is_undefined && JS_IsNull(v))
                v = JS_UNDEFINED;
        }
        free(resp);
        return settled_promise(c, v, FALSE);
    case STATUS_UNSUPPORTED: {
        char msg[128];
        int m = snprintf(msg, sizeof(msg),
                         "runlet: %s is not supported by this host", what);
        free(resp);
        return settled_promise(c, new_error(c, msg, m), TRUE);
    }
    default:
        v = new_error(c, resp, n);
        free(resp);
        return settled_promise(c, v, TRUE);
    }
}

/* JSON.stringify({key: v}) with undefined as null. */
static JSValue request1(JSContext *c, const char *key, JSValue v)
{
    JSValue obj = JS_NewObject(c), s;
    if (JS_IsUndefined(v))
        v = JS_NULL;
    JS_SetPropertyStr(c, obj, key, v);
    s = JS_JSONStringify(c, obj, JS_UNDEFINED, JS_UNDEFINED);
    JS_FreeValue(c, obj);
    if (JS_IsUndefined(s)) /* e.g. a function value */
        s = JS_NewString(c, "{}");
    return s;
}

static JSValue js_get_state(JSContext *c, JSValueConst this_val, int argc,
                            JSValueConst *argv)
{
    return host_op(c, OP_STATE_GET, "getState", JS_NewString(c, "{}"), TRUE);
}

static JSValue js_set_state(JSContext *c, JSValueConst this_val, int argc,
                            JSValueConst *argv)
{
    JSValue v = argc > 0 ? JS_DupValue(c, argv[0]) : JS_UNDEFINED;
    JSValue p = host_op(c, OP_STATE_SET, "setState", request1(c, "value", v), FALSE);
    return p;
}

static JSValue js_get_path(JSContext *c, JSValueConst this_val, int argc,
                           JSValueConst *argv, int op)
{
    JSValue path = JS_ToString(c, argc > 0 ? argv[0] : JS_UNDEFINED);
    if (JS_IsException(path))
        return rejected_with_exception(c);
    return host_op(c, op, op == OP_VARIABLE_GET ? "getVariable" : "getResource",
                   request1(c, "path", path), FALSE);
}

static const JSCFunctionListEntry js_runlet_funcs[] = {
    JS_CFUNC_DEF("getState", 0, js_get_state),
    JS_CFUNC_DEF("setState", 1, js_set_state),
    JS_CFUNC_MAGIC_DEF("getVariable", 1, js_get_path, OP_VARIABLE_GET),
    JS_CFUNC_MAGIC_DEF("getResource", 1, js_get_path, OP_RESOURCE_GET),
};

static int runlet_module_init(JSContext *c, JSModuleDef *m)
{
    return JS_SetModuleExportList(c, m, js_runlet_funcs, countof(js_runlet_funcs));
}

/* Import specifiers are used as they are (no path resolution): the only
   importable modules are the two names below. */
static char *module_normalize(JSContext *c, const char *base, const char *name,
                              void *opaque)
{
    return js_strdup(c, name);
}

static JSModuleDef *module_loader(JSContext *c, const char *name, void *opaque)
{
    JSModuleDef *m;
    if (strcmp(name, "runlet") != 0 && strcmp(name, "windmill-client") != 0) {
        JS_ThrowReferenceError(c, "module not found: %s", name);
        return NULL;
    }
    m = JS_NewCModule(c, name, runlet_module_init);
    if (!m)
        return NULL;
    if (JS_AddModuleExportList(c, m, js_runlet_funcs, countof(js_runlet_funcs)) < 0)
        return NULL;
    return m;
}

/* ---------------------------------------------------------------------- */
/* Runtime */

static BOOL ensure_init(void)
{
    JSValue global, console, math;

    if (ctx) {
        JS_UpdateStackTop(rt);
        return TRUE;
    }
    rand_seed();
    rt = JS_NewRuntime();
    if (!rt)
        return FALSE;
    if (RUNLET_QJS_MEMORY_LIMIT > 0)
        JS_SetMemoryLimit(rt, RUNLET_QJS_MEMORY_LIMIT);
    JS_SetMaxStackSize(rt, RUNLET_QJS_STACK_SIZE - RUNLET_QJS_STACK_MARGIN);
    JS_SetModuleLoaderFunc(rt, module_normalize, module_loader, NULL);
    ctx = JS_NewContext(rt);
    if (!ctx) {
        JS_FreeRuntime(rt);
        rt = NULL;
        return FALSE;
    }
    global = JS_GetGlobalObject(ctx);
    console = JS_NewObject(ctx);
    JS_SetPropertyFunctionList(ctx, console, js_console_funcs, countof(js_console_funcs));
    JS_DefinePropertyValueStr(ctx, global, "console", console,
                              JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    math = JS_GetPropertyStr(ctx, global, "Math");
    JS_DefinePropertyValueStr(ctx, math, "random",
                              JS_NewCFunction(ctx, js_math_random, "random", 0),
                              JS_PROP_WRITABLE | JS_PROP_CONFIGURABLE);
    JS_FreeValue(ctx, math);
    JS_FreeValue(ctx, global);
    return TRUE;
}

/* Run queued promise jobs until *done is set or the queue is empty.
   Returns -1 on an exception of a job (left pending in ctx). */
static int drain_jobs(const int *done)
{
    JSContext *c;
    int r;
    while (!(done && *done)) {
        r = JS_ExecutePendingJob(rt, &c);
        if (r == 0)
            break;
        if (r < 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------- */
/* Exports */

EXPORT("runlet_abi_v1") void runlet_abi_v1(void) {}

EXPORT("runlet_alloc") uint32_t runlet_alloc(uint32_t size)
{
    if ((size_t)size + 1 > inbuf_cap) {
        char *p = realloc(inbuf, (size_t)size + 1);
        if (!p)
            return 0;
        inbuf = p;
        inbuf_cap = (size_t)size + 1;
    }
    inbuf[size] = '\0';
    return (uint32_t)(uintptr_t)inbuf;
}

/* A NUL-terminated view of [ptr, ptr+len): the alloc buffer in place, or a
   copy when the host passed other memory. *owned is set for a copy. */
static const char *input(uint32_t ptr, uint32_t len, BOOL *owned)
{
    char *p = (char *)(uintptr_t)ptr;
    *owned = FALSE;
    if (!p && len > 0)
        return NULL; /* runlet_alloc failed */
    if (inbuf && p == inbuf && (size_t)len < inbuf_cap) {
        inbuf[len] = '\0';
        return inbuf;
    }
    if (len == 0)
        return "";
    char *q = malloc((size_t)len + 1);
    if (!q)
        return NULL;
    memcpy(q, p, len);
    q[len] = '\0';
    *owned = TRUE;
    return q;
}

EXPORT("runlet_load") uint32_t runlet_load(uint32_t ptr, uint32_t len)
{
    const char *src;
    BOOL owned;
    JSValue mod, ret, ns;
    JSModuleDef *m;

    if (!ensure_init()) {
        report_message("InternalError", "cannot create the QuickJS runtime");
        return 1;
    }
    if (loaded) {
        report_message("Error", "runlet_load: a script is already loaded");
        return 1;
    }
    src = input(ptr, len, &owned);
    if (!src) {
        report_message("InternalError", "out of memory");
        return 1;
    }
    mod = JS_Eval(ctx, src, len, SCRIPT_NAME,
                  JS_EVAL_TYPE_MODULE | JS_EVAL_FLAG_COMPILE_ONLY);
    if (owned) {
        free((void *)src);
    } else if (src == inbuf) {
        /* the source is compiled: give its buffer back to the heap */
        free(inbuf);
        inbuf = NULL;
        inbuf_cap = 0;
    }
    if (JS_IsException(mod)) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    m = JS_VALUE_GET_PTR(mod);
    ret = JS_EvalFunction(ctx, mod); /* consumes mod */
    if (JS_IsException(ret)) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    JS_FreeValue(ctx, ret);
    if (drain_jobs(NULL) < 0) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    ns = JS_GetModuleNamespace(ctx, m);
    if (JS_IsException(ns)) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    main_fn = JS_GetPropertyStr(ctx, ns, "main");
    JS_FreeValue(ctx, ns);
    if (JS_IsException(main_fn)) {
        main_fn = JS_UNDEFINED;
        report_exception(JS_GetException(ctx));
        return 1;
    }
    if (!JS_IsFunction(ctx, main_fn)) {
        JS_FreeValue(ctx, main_fn);
        main_fn = JS_UNDEFINED;
        report_message("Error", "the script does not export a function main");
        return 1;
    }
    loaded = TRUE;
    return 0;
}

/* Settlement of main's promise, recorded by the then-callbacks. */
static int settled;        /* 0 pending, 1 fulfilled, 2 rejected */
static JSValue settled_value;
/* Each run's callbacks carry the run's id, so that callbacks a thenable
   kept from an earlier run cannot settle a later one. */
static uint32_t settle_id;

static JSValue js_settle(JSContext *c, JSValueConst this_val, int argc,
                         JSValueConst *argv, int magic, JSValue *data)
{
    if (settled == 0 && (uint32_t)JS_VALUE_GET_INT(data[0]) == settle_id) {
        settled = magic;
        settled_value = JS_DupValue(c, argc > 0 ? argv[0] : JS_UNDEFINED);
    }
    return JS_UNDEFINED;
}

/* The arguments of main from the document {"args":[...]}. Returns the
   array (or undefined for no arguments) or JS_EXCEPTION. */
static JSValue parse_args(const char *buf, size_t len)
{
    JSValue doc, args;
    if (len == 0)
        return JS_UNDEFINED;
    doc = JS_ParseJSON(ctx, buf, len, "<args>");
    if (JS_IsException(doc))
        return doc;
    if (!JS_IsObject(doc) || JS_IsArray(ctx, doc)) {
        JS_FreeValue(ctx, doc);
        return JS_ThrowTypeError(ctx, "runlet: the job arguments must be a JSON object {\"args\":[...]}");
    }
    args = JS_GetPropertyStr(ctx, doc, "args");
    JS_FreeValue(ctx, doc);
    if (JS_IsException(args) || JS_IsUndefined(args) || JS_IsNull(args))
        return JS_IsException(args) ? args : JS_UNDEFINED;
    if (!JS_IsArray(ctx, args)) {
        JS_FreeValue(ctx, args);
        return JS_ThrowTypeError(ctx, "runlet: \"args\" must be an array of main's positional arguments");
    }
    return args;
}

/* Call main with the arguments; returns its value, awaited when it is a
   promise (or thenable), or JS_EXCEPTION. */
static JSValue call_main(JSValueConst args)
{
    JSValue *argv = NULL, ret, then;
    uint32_t argc = 0, i;
    int64_t n = 0;

    if (!JS_IsUndefined(args)) {
        JSValue l = JS_GetPropertyStr(ctx, args, "length");
        int r = JS_ToInt64(ctx, &n, l);
        JS_FreeValue(ctx, l);
        if (r)
            return JS_EXCEPTION;
        if (n > 65535)
            return JS_ThrowRangeError(ctx, "runlet: too many arguments");
        argc = (uint32_t)n;
        argv = malloc(sizeof(JSValue) * (argc ? argc : 1));
        if (!argv)
            return JS_ThrowOutOfMemory(ctx);
        for(i = 0; i < argc; i++)
            argv[i] = JS_GetPropertyUint32(ctx, args, i);
    }
    ret = JS_Call(ctx, main_fn, JS_UNDEFINED, argc, (JSValueConst *)argv);
    for(i = 0; i < argc; i++)
        JS_FreeValue(ctx, argv[i]);
    free(argv);
    if (JS_IsException(ret) || !JS_IsObject(ret))
        goto done;
    then = JS_GetPropertyStr(ctx, ret, "then");
    if (JS_IsException(then)) {
        JS_FreeValue(ctx, ret);
        return JS_EXCEPTION;
    }
    if (JS_IsFunction(ctx, then)) {
        JSValue cb[2], r, id;
        settled = 0;
        settled_value = JS_UNDEFINED;
        id = JS_NewInt32(ctx, (int32_t)++settle_id);
        cb[0] = JS_NewCFunctionData(ctx, js_settle, 1, 1, 1, &id);
        cb[1] = JS_NewCFunctionData(ctx, js_settle, 1, 2, 1, &id);
        r = JS_Call(ctx, then, ret, 2, (JSValueConst *)cb);
        JS_FreeValue(ctx, cb[0]);
        JS_FreeValue(ctx, cb[1]);
        JS_FreeValue(ctx, then);
        JS_FreeValue(ctx, ret);
        if (JS_IsException(r))
            return r;
        JS_FreeValue(ctx, r);
        if (drain_jobs(&settled) < 0)
            return JS_EXCEPTION;
        switch (settled) {
        case 1:
            ret = settled_value;
            break;
        case 2:
            return JS_Throw(ctx, settled_value);
        default:
            return JS_ThrowInternalError(ctx, "main's promise never settled (nothing left to run: is it waiting for a timer or an event that runlet does not provide?)");
        }
    } else {
        JS_FreeValue(ctx, then);
    }
 done:
    return ret;
}

EXPORT("runlet_run") uint32_t runlet_run(uint32_t ptr, uint32_t len)
{
    const char *buf;
    BOOL owned;
    JSValue args, ret, json;
    const char *s;
    size_t n;

    if (!ensure_init()) {
        report_message("InternalError", "cannot create the QuickJS runtime");
        return 1;
    }
    if (!loaded) {
        report_message("Error", "no script is loaded (runlet_load was not called or failed)");
        return 1;
    }
    buf = input(ptr, len, &owned);
    if (!buf) {
        report_message("InternalError", "out of memory");
        return 1;
    }
    args = parse_args(buf, len);
    if (owned)
        free((void *)buf);
    if (JS_IsException(args)) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    ret = call_main(args);
    JS_FreeValue(ctx, args);
    if (JS_IsException(ret)) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    /* let promises main left behind run before the job ends */
    if (drain_jobs(NULL) < 0) {
        JS_FreeValue(ctx, ret);
        report_exception(JS_GetException(ctx));
        return 1;
    }
    json = JS_JSONStringify(ctx, ret, JS_UNDEFINED, JS_UNDEFINED);
    JS_FreeValue(ctx, ret);
    if (JS_IsException(json)) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    if (JS_IsUndefined(json)) {
        host_result_set("null", 4);
        return 0;
    }
    s = JS_ToCStringLen(ctx, &n, json);
    JS_FreeValue(ctx, json);
    if (!s) {
        report_exception(JS_GetException(ctx));
        return 1;
    }
    host_result_set(s, n);
    JS_FreeCString(ctx, s);
    return 0;
}

/* Warm-up: paths a typical job takes (JSON both ways, number formatting,
   a promise job) so that their lazy state is in the snapshot. It never
   calls the script or a host import. */
EXPORT("runlet_warmup") void runlet_warmup(void)
{
    static const char code[] =
        "(function(){var o=JSON.parse('{\"a\":[1,2.5,\"x\",true,null],\"b\":{}}');"
        "Promise.resolve(o).then(function(v){return v;});"
        "return JSON.stringify(o)+(0.1).toFixed(2)+String(1/3);})()";
    JSValue v;

    if (!ensure_init())
        return;
    v = JS_Eval(ctx, code, sizeof(code) - 1, "<warmup>", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(v))
        JS_FreeValue(ctx, JS_GetException(ctx));
    JS_FreeValue(ctx, v);
    drain_jobs(NULL);
    JS_RunGC(rt);
}

EXPORT("runlet_reseed") void runlet_reseed(void)
{
    rand_seed();
}
