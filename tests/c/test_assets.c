/*
 * Static assets through the C ABI (strict C99 + pthreads, run under AddressSanitizer with leak
 * detection or valgrind): an asset server written in C that answers inline, one that answers
 * from another thread after the callback returned, one that fails (the worker's promise rejects
 * with the host's message), the embedded directory server, and bad inputs.
 */
#include "check.h"

#include <sys/stat.h>

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

static struct one_module MODULE = {"assets.js", WORKER};

/* ---- an asset server in C ---------------------------------------------------------------- */

enum mode { INLINE, LATER, FAIL };
struct server {
    enum mode mode;
    int *freed;
};

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
    sleep_ms(5);
    resolve(l->c, &l->a);
    free(l);
    done_later();
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
        l->c = c;
        /* Everything the callback was given is copied now: it is gone once we return. */
        decide(method, url, headers, headers_len, &l->a);
        if (run_later(answer_later, l) != 0) {
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
        EXPECT_ERROR(wk_env_add_assets(env, S("A"), &vt, s, server_free, &err),
                     WK_E_INVALID_ARGUMENT, "wk_assets_vtable_t.fetch is NULL");
        CHECK(freed == 1);
    }
    vt.fetch = server_fetch;
    vt.struct_size = 2;
    EXPECT_ERROR(wk_env_add_assets(env, S("A"), &vt, NULL, NULL, &err),
                 WK_E_INVALID_ARGUMENT, "struct_size");
    CHECK(wk_env_add_assets(env, S("A"), NULL, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_env_add_assets(NULL, S("A"), &vt, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);

    /* The embedded server: a missing directory, bad options, bad UTF-8. */
    EXPECT_ERROR(wk_env_add_assets_default(env, S("A"), S("/nonexistent/wk-assets"), WK_HTML_HANDLING_AUTO_TRAILING_SLASH, WK_NOT_FOUND_NONE, &err),
                 WK_E_NOT_FOUND, "/nonexistent/wk-assets");
    EXPECT_ERROR(wk_env_add_assets_default(env, S("A"), dir, strlen(dir), 7, WK_NOT_FOUND_NONE, &err),
                 WK_E_INVALID_ARGUMENT, "html_handling");
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

static void test_worker(wk_engine_t *engine, const char *dir) {
    wk_env_t *env = NULL;
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

    expect_get(engine, "assets", env, "/", 200, want);

    /* A failing server rejects the worker's promise with the host's message. */
    expect_get(engine, "assets", env, "/fail", 500, "Error: asset store unplugged");

    /* The servers live as long as the worker that saw them: dropping the env frees nothing. */
    wk_env_free(env);
    CHECK(servers_freed == 0);
    wait_for_threads();
}

int main(void) {
    wk_engine_t *engine;
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

    engine = start_engine(load_one_module, &MODULE, NULL, 1, 1);
    if (engine == NULL) return summary("assets");
    test_worker(engine, dir);
    CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
    wk_engine_free(engine);
    /* The engine held the last reference to each server: all three are finalized now. */
    CHECK(servers_freed == 3);

    remove(file);
    rmdir(dir);
    return summary("assets");
}
