/*
 * Static assets through the C ABI (strict C99 + pthreads, run under AddressSanitizer with leak
 * detection or valgrind): an asset server written in C that answers inline, one that answers
 * from another thread after the callback returned, one that fails (the worker's promise rejects
 * with the host's message), the embedded directory server, and bad inputs.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "worker.h"

static int passed, failed;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (cond) {                                                                    \
            passed++;                                                                  \
        } else {                                                                       \
            failed++;                                                                  \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                              \
    } while (0)

#define S(lit) lit, (sizeof lit - 1)

static int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

static const char WORKER[] =
    "export default {\n"
    "  async fetch(request, env) {\n"
    "    if (request.url.endsWith('/fail')) {\n"
    "      try { await env.BROKEN.fetch('http://x/a.txt'); return new Response('no error'); }\n"
    "      catch (e) { return new Response(e.name + ': ' + e.message, { status: 500 }); }\n"
    "    }\n"
    "    const d = async (r) => [r.status, r.headers.get('content-type'),\n"
    "      r.headers.get('x-seen'), r.url, await r.text()];\n"
    "    return Response.json({\n"
    "      inline: await d(await env.INLINE.fetch('http://x/hello.txt?q=1',\n"
    "        { headers: { 'If-None-Match': 'abc' } })),\n"
    "      later: await d(await env.LATER.fetch(new Request('http://y/hello.txt'))),\n"
    "      followed: await d(await env.LATER.fetch('http://x/old')),\n"
    "      missing: (await env.INLINE.fetch('http://x/nope')).status,\n"
    "      local: await d(await env.LOCAL.fetch('http://x/page')),\n"
    "      localRedirect: (await env.LOCAL.fetch('http://x/page.html', { redirect: 'manual' }))\n"
    "        .headers.get('location'),\n"
    "    });\n"
    "  },\n"
    "};\n";

static wk_status_t load(void *user_data, const char *site, size_t site_len, const char *deploy,
                        size_t deploy_len, wk_source_t *out) {
    (void)user_data;
    (void)site;
    (void)site_len;
    (void)deploy;
    (void)deploy_len;
    if (wk_source_add_module(out, S("assets.js"), WK_MODULE_ESM, (const uint8_t *)WORKER,
                             sizeof WORKER - 1, NULL) != WK_OK)
        return WK_E_INTERNAL;
    return wk_source_set_main(out, S("assets.js"), NULL);
}

/* ---- an asset server in C ---------------------------------------------------------------- */

enum mode { INLINE, LATER, FAIL };
struct server {
    enum mode mode;
    int *freed;
};

static int threads_running;
static int servers_freed;

/* What the server answers for a path: the status, up to two headers and a body. */
struct answer {
    uint16_t status;
    char seen[64];
    const char *location;
    const char *body;
};

static void resolve(wk_completion_t *c, const struct answer *a) {
    wk_header_t h[3];
    size_t n = 0;
    if (a->status == 200) {
        h[n].name = "Content-Type";
        h[n].name_len = strlen(h[n].name);
        h[n].value = "text/plain; charset=utf-8";
        h[n].value_len = strlen(h[n].value);
        n++;
        h[n].name = "X-Seen";
        h[n].name_len = strlen(h[n].name);
        h[n].value = a->seen;
        h[n].value_len = strlen(a->seen);
        n++;
    }
    if (a->location != NULL) {
        h[n].name = "Location";
        h[n].name_len = strlen(h[n].name);
        h[n].value = a->location;
        h[n].value_len = strlen(a->location);
        n++;
    }
    if (wk_completion_resolve_asset(c, a->status, n ? h : NULL, n, (const uint8_t *)a->body,
                                    a->body ? strlen(a->body) : 0) != WK_OK)
        abort();
}

/* The path of an absolute URL (`http://host/path?query` -> `/path`), length in *len. */
static const char *url_path(const char *url, size_t *len) {
    const char *p = strstr(url, "://");
    const char *end;
    p = p ? strchr(p + 3, '/') : NULL;
    if (p == NULL) p = "/";
    end = p + strcspn(p, "?#");
    *len = (size_t)(end - p);
    return p;
}

static void decide(const char *method, const char *url, const wk_header_t *headers, size_t n,
                   struct answer *a) {
    size_t len, i;
    const char *path = url_path(url, &len);
    memset(a, 0, sizeof *a);
    strcpy(a->seen, "none");
    for (i = 0; i < n; i++) {
        /* Headers arrive lower-cased by the worker's Headers, NUL-terminated. */
        if (strcmp(headers[i].name, "if-none-match") == 0 && headers[i].value_len < sizeof a->seen)
            memcpy(a->seen, headers[i].value, headers[i].value_len + 1);
    }
    if (len == 10 && memcmp(path, "/hello.txt", len) == 0) {
        a->status = 200;
        a->body = strcmp(method, "HEAD") == 0 ? NULL : "hello from C";
    } else if (len == 4 && memcmp(path, "/old", len) == 0) {
        a->status = 307;
        a->location = "/hello.txt";
    } else {
        a->status = 404;
    }
}

struct later {
    wk_completion_t *c;
    struct answer a;
};

static void *answer_later(void *arg) {
    struct later *l = (struct later *)arg;
    struct timespec pause = {0, 5 * 1000 * 1000};
    nanosleep(&pause, NULL);
    resolve(l->c, &l->a);
    free(l);
    __atomic_sub_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void server_fetch(void *user_data, const char *method, size_t method_len, const char *url,
                         size_t url_len, const wk_header_t *headers, size_t headers_len,
                         wk_completion_t *c) {
    struct server *s = (struct server *)user_data;
    (void)method_len;
    (void)url_len;
    if (s->mode == FAIL) {
        wk_completion_reject(c, S("asset store unplugged"));
        return;
    }
    if (s->mode == LATER) {
        struct later *l = (struct later *)calloc(1, sizeof *l);
        pthread_t t;
        l->c = c;
        /* Everything the callback was given is copied now: it is gone once we return. */
        decide(method, url, headers, headers_len, &l->a);
        __atomic_add_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
        if (pthread_create(&t, NULL, answer_later, l) == 0) {
            pthread_detach(t);
        } else {
            __atomic_sub_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
            wk_completion_reject(l->c, S("no thread"));
            free(l);
        }
        return;
    }
    {
        struct answer a;
        decide(method, url, headers, headers_len, &a);
        resolve(c, &a);
    }
}

static void server_free(void *user_data) {
    struct server *s = (struct server *)user_data;
    (*s->freed)++;
    free(s);
}

static wk_status_t add_server(wk_env_t *env, const char *name, enum mode mode) {
    wk_assets_vtable_t vt;
    struct server *s = (struct server *)calloc(1, sizeof *s);
    s->mode = mode;
    s->freed = &servers_freed;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.fetch = server_fetch;
    return wk_env_add_assets(env, name, strlen(name), &vt, s, server_free, NULL);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_bad_inputs(const char *dir) {
    wk_env_t *env = NULL;
    wk_error_t *err = NULL;
    wk_assets_vtable_t vt;
    wk_completion_t *c = NULL;
    wk_completion_waiter_t *w = NULL;
    wk_header_t bad_header;
    uint8_t *data = NULL;
    size_t len = 0;
    const char bad_utf8[] = {'a', (char)0xC3, '(', 0};
    int freed = 0;

    CHECK(wk_env_new(&env, NULL) == WK_OK);
    /* A vtable without fetch is refused, and its user_data is still finalized. */
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    {
        struct server *s = (struct server *)calloc(1, sizeof *s);
        s->freed = &freed;
        CHECK(wk_env_add_assets(env, S("A"), &vt, s, server_free, &err) ==
              WK_E_INVALID_ARGUMENT);
        CHECK(contains(wk_error_message(err), "wk_assets_vtable_t.fetch is NULL"));
        wk_error_free(err);
        err = NULL;
        CHECK(freed == 1);
    }
    vt.fetch = server_fetch;
    vt.struct_size = 2;
    CHECK(wk_env_add_assets(env, S("A"), &vt, NULL, NULL, &err) == WK_E_INVALID_ARGUMENT);
    CHECK(contains(wk_error_message(err), "struct_size"));
    wk_error_free(err);
    err = NULL;
    CHECK(wk_env_add_assets(env, S("A"), NULL, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_env_add_assets(NULL, S("A"), &vt, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);

    /* The embedded server: a missing directory, bad options, bad UTF-8. */
    CHECK(wk_env_add_assets_default(env, S("A"), S("/nonexistent/wk-assets"),
                                    WK_HTML_HANDLING_AUTO_TRAILING_SLASH, WK_NOT_FOUND_NONE,
                                    &err) == WK_E_NOT_FOUND);
    CHECK(contains(wk_error_message(err), "/nonexistent/wk-assets"));
    wk_error_free(err);
    err = NULL;
    CHECK(wk_env_add_assets_default(env, S("A"), dir, strlen(dir), 7, WK_NOT_FOUND_NONE, &err) ==
          WK_E_INVALID_ARGUMENT);
    CHECK(contains(wk_error_message(err), "html_handling"));
    wk_error_free(err);
    err = NULL;
    CHECK(wk_env_add_assets_default(env, S("A"), dir, strlen(dir), WK_HTML_HANDLING_NONE, 9,
                                    NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_env_add_assets_default(env, bad_utf8, 3, dir, strlen(dir), WK_HTML_HANDLING_NONE,
                                    WK_NOT_FOUND_NONE, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_env_add_assets_default(env, S("A"), NULL, 3, WK_HTML_HANDLING_NONE,
                                    WK_NOT_FOUND_NONE, NULL) == WK_E_INVALID_ARGUMENT);
    wk_env_free(env);

    /* wk_completion_resolve_asset refuses bad input and leaves the completion outstanding. */
    CHECK(wk_completion_new(&c, &w, NULL) == WK_OK);
    CHECK(wk_completion_resolve_asset(c, 99, NULL, 0, NULL, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_asset(c, 200, NULL, 1, NULL, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_asset(c, 200, NULL, 0, NULL, 4) == WK_E_INVALID_ARGUMENT);
    bad_header.name = bad_utf8;
    bad_header.name_len = 3;
    bad_header.value = "v";
    bad_header.value_len = 1;
    CHECK(wk_completion_resolve_asset(c, 200, &bad_header, 1, NULL, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_asset(NULL, 200, NULL, 0, NULL, 0) == WK_E_INVALID_ARGUMENT);
    /* ... then resolves once, and the waiter gets the body. */
    CHECK(wk_completion_resolve_asset(c, 200, NULL, 0, (const uint8_t *)"body", 4) == WK_OK);
    CHECK(wk_completion_resolve_asset(c, 200, NULL, 0, NULL, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_wait(w, &data, &len, NULL) == WK_OK);
    CHECK(len == 4 && data != NULL && memcmp(data, "body", 4) == 0);
    wk_bytes_free(data);
    wk_completion_waiter_free(w);
}

static int run(wk_engine_t *engine, wk_env_t *env, const char *url, char *out, size_t cap) {
    wk_request_t *req = NULL;
    wk_response_t *resp = NULL;
    wk_error_t *err = NULL;
    const uint8_t *body = NULL;
    size_t len = 0;
    int status;
    if (wk_request_new(S("GET"), url, strlen(url), &req, NULL) != WK_OK) abort();
    if (wk_execute(engine, S("assets"), S("v1"), env, req, &resp, &err) != WK_OK) {
        fprintf(stderr, "wk_execute: %s\n", wk_error_message(err));
        wk_error_free(err);
        wk_request_free(req);
        return -1;
    }
    status = wk_response_status(resp);
    CHECK(wk_response_body(resp, &body, &len) == WK_OK);
    if (len >= cap) len = cap - 1;
    memcpy(out, body, len);
    out[len] = 0;
    wk_response_free(resp);
    wk_request_free(req);
    return status;
}

static void test_worker(wk_engine_t *engine, const char *dir) {
    wk_env_t *env = NULL;
    char out[2048];
    struct timespec pause = {0, 5 * 1000 * 1000};
    const char *want =
        "{\"inline\":[200,\"text/plain; charset=utf-8\",\"abc\",\"http://x/hello.txt?q=1\","
        "\"hello from C\"],"
        "\"later\":[200,\"text/plain; charset=utf-8\",\"none\",\"http://y/hello.txt\","
        "\"hello from C\"],"
        "\"followed\":[200,\"text/plain; charset=utf-8\",\"none\",\"http://x/hello.txt\","
        "\"hello from C\"],"
        "\"missing\":404,"
        "\"local\":[200,\"text/html; charset=utf-8\",null,\"http://x/page\",\"<p>page</p>\"],"
        "\"localRedirect\":\"/page\"}";

    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(add_server(env, "INLINE", INLINE) == WK_OK);
    CHECK(add_server(env, "LATER", LATER) == WK_OK);
    CHECK(add_server(env, "BROKEN", FAIL) == WK_OK);
    CHECK(wk_env_add_assets_default(env, S("LOCAL"), dir, strlen(dir),
                                    WK_HTML_HANDLING_AUTO_TRAILING_SLASH, WK_NOT_FOUND_NONE,
                                    NULL) == WK_OK);

    CHECK(run(engine, env, "https://example.com/", out, sizeof out) == 200);
    CHECK(strcmp(out, want) == 0);
    if (strcmp(out, want) != 0) fprintf(stderr, "got:  %s\nwant: %s\n", out, want);

    /* A failing server rejects the worker's promise with the host's message. */
    CHECK(run(engine, env, "https://example.com/fail", out, sizeof out) == 500);
    CHECK(strcmp(out, "Error: asset store unplugged") == 0);

    /* The servers live as long as the worker that saw them: dropping the env frees nothing. */
    wk_env_free(env);
    CHECK(servers_freed == 0);
    while (__atomic_load_n(&threads_running, __ATOMIC_SEQ_CST) > 0) nanosleep(&pause, NULL);
}

int main(void) {
    wk_engine_options_t opts;
    wk_source_loader_vtable_t vt;
    wk_engine_t *engine = NULL;
    wk_error_t *err = NULL;
    char dir[128], file[160];
    FILE *f;

    snprintf(dir, sizeof dir, "/tmp/wk-c-assets-%d", (int)getpid());
    mkdir(dir, 0700);
    snprintf(file, sizeof file, "%s/page.html", dir);
    f = fopen(file, "w");
    if (f == NULL) return 1;
    fputs("<p>page</p>", f);
    fclose(f);

    test_bad_inputs(dir);

    wk_engine_options_init(&opts);
    opts.pool_size = 1;
    opts.warm_isolates = 1;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.load = load;
    CHECK(wk_engine_new(&opts, &vt, NULL, NULL, &engine, &err) == WK_OK);
    if (engine == NULL) {
        fprintf(stderr, "wk_engine_new: %s\n", wk_error_message(err));
        wk_error_free(err);
        return 1;
    }
    test_worker(engine, dir);
    CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
    wk_engine_free(engine);
    /* The engine held the last reference to each server: all three are finalized now. */
    CHECK(servers_freed == 3);

    remove(file);
    rmdir(dir);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
