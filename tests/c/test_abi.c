/*
 * The C ABI exercised from C (strict C99 + pthreads), meant to run under AddressSanitizer with
 * leak detection or under valgrind: bad inputs, one-shot completions across threads, and
 * workers executed synchronously, asynchronously and as functions, and KV namespaces
 * implemented in C (answering inline, from another thread later, and failing).
 */
#include "check.h"

static void test_bad_inputs(void) {
    wk_error_t *err = NULL;
    wk_env_t *env = NULL;
    wk_request_t *req = NULL;
    wk_source_t *src = NULL;
    wk_engine_t *engine = NULL;
    wk_engine_options_t opts;
    wk_source_loader_vtable_t vt;
    const char bad_utf8[] = {'a', (char)0xC3, '(', 0};

    CHECK(wk_abi_version() == WK_ABI_VERSION);
    CHECK(strcmp(wk_status_name(WK_E_INVALID_ARGUMENT), "WK_E_INVALID_ARGUMENT") == 0);

    EXPECT_ERROR(wk_env_new(NULL, &err), WK_E_INVALID_ARGUMENT, "out_env is NULL");
    CHECK(wk_env_new(&env, &err) == WK_OK && err == NULL);
    EXPECT_ERROR(wk_env_set_var(env, NULL, 1, S("v"), &err), WK_E_INVALID_ARGUMENT,
                 "key is NULL");
    EXPECT_ERROR(wk_env_set_var(env, bad_utf8, 3, S("v"), &err), WK_E_INVALID_ARGUMENT,
                 "not valid UTF-8");
    EXPECT_ERROR(wk_env_set_json(env, S("J"), S("{nope"), &err), WK_E_INVALID_ARGUMENT,
                 "not valid JSON");
    CHECK(wk_env_set_json(env, S("J"), S("[1, {\"a\": null}]"), NULL) == WK_OK);
    /* err is optional */
    CHECK(wk_env_set_secret(env, S("K"), NULL, 4, NULL) == WK_E_INVALID_ARGUMENT);
    wk_env_free(env);

    EXPECT_ERROR(wk_request_new(S("GET"), bad_utf8, 3, &req, &err), WK_E_INVALID_ARGUMENT,
                 "url is not valid UTF-8");
    CHECK(req == NULL);
    CHECK(wk_request_new(S("GET"), S("https://x.test/"), &req, NULL) == WK_OK);
    EXPECT_ERROR(wk_request_add_header(req, S(""), S("v"), &err), WK_E_INVALID_ARGUMENT,
                 "header name is empty");
    EXPECT_ERROR(wk_request_set_body(req, NULL, 5, &err), WK_E_INVALID_ARGUMENT, "NULL");
    CHECK(wk_request_set_body(req, NULL, 0, NULL) == WK_OK);
    wk_request_free(req);

    CHECK(wk_source_new(&src, NULL) == WK_OK);
    EXPECT_ERROR(wk_source_add_module(src, S("a.js"), 42, (const uint8_t *)"x", 1, &err),
                 WK_E_INVALID_ARGUMENT, "unknown module type 42");
    EXPECT_ERROR(wk_source_add_module(src, S("a.js"), WK_MODULE_TEXT,
                                      (const uint8_t *)bad_utf8, 3, &err),
                 WK_E_INVALID_ARGUMENT, "WK_MODULE_DATA");
    CHECK(wk_source_add_module(src, S("a.bin"), WK_MODULE_DATA, (const uint8_t *)bad_utf8, 3,
                               NULL) == WK_OK);
    wk_source_free(src);

    CHECK(wk_engine_options_init(NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_engine_options_init(&opts) == WK_OK);
    CHECK(opts.struct_size == sizeof opts);
    opts.struct_size = 4;
    EXPECT_ERROR(wk_engine_new(&opts, NULL, NULL, NULL, &engine, &err), WK_E_INVALID_ARGUMENT, "struct_size is 4");
    CHECK(engine == NULL);
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    EXPECT_ERROR(wk_engine_new(NULL, &vt, NULL, NULL, &engine, &err), WK_E_INVALID_ARGUMENT,
                 "load is NULL");

    /* Accessors on NULL, and free(NULL), are harmless. */
    CHECK(wk_response_status(NULL) == 0);
    CHECK(wk_response_header_count(NULL) == 0);
    CHECK(strcmp(wk_error_message(NULL), "") == 0);
    wk_engine_free(NULL);
    wk_env_free(NULL);
    wk_request_free(NULL);
    wk_response_free(NULL);
    wk_error_free(NULL);
    wk_source_free(NULL);
    wk_string_free(NULL);
    wk_bytes_free(NULL);
    wk_completion_free(NULL);
    wk_completion_waiter_free(NULL);
}

/* ---- completions ---- */

static void *resolve_later(void *arg) {
    wk_completion_t *c = (wk_completion_t *)arg;
    static const uint8_t data[] = {'h', 'i', 0, 0xFF};
    wk_status_t *result = (wk_status_t *)malloc(2 * sizeof *result);
    result[0] = wk_completion_resolve(c, data, sizeof data);
    result[1] = wk_completion_resolve(c, data, sizeof data);
    return result;
}

static void test_completions(void) {
    wk_completion_t *c = NULL;
    wk_completion_waiter_t *w = NULL;
    wk_error_t *err = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    pthread_t thread;
    void *ret = NULL;
    wk_status_t *statuses;

    /* Resolved from another thread while this one waits; the second resolve is refused. */
    CHECK(wk_completion_new(&c, &w, &err) == WK_OK);
    CHECK(pthread_create(&thread, NULL, resolve_later, c) == 0);
    CHECK(wk_completion_wait(w, &data, &len, &err) == WK_OK);
    CHECK(len == 4 && data != NULL && memcmp(data, "hi\0\xFF", 4) == 0);
    wk_bytes_free(data);
    pthread_join(thread, &ret);
    statuses = (wk_status_t *)ret;
    CHECK(statuses[0] == WK_OK);
    CHECK(statuses[1] == WK_E_INVALID_ARGUMENT);
    free(statuses);
    CHECK(wk_completion_reject(c, S("late")) == WK_E_INVALID_ARGUMENT);
    EXPECT_ERROR(wk_completion_wait(w, &data, &len, &err), WK_E_INVALID_ARGUMENT,
                 "already called");
    wk_completion_waiter_free(w);

    /* Rejected: the waiter sees the message. */
    CHECK(wk_completion_new(&c, &w, NULL) == WK_OK);
    CHECK(wk_completion_reject(c, S("disk on fire")) == WK_OK);
    EXPECT_ERROR(wk_completion_wait(w, &data, &len, &err), WK_E_REJECTED, "disk on fire");
    CHECK(data == NULL);
    wk_completion_waiter_free(w);

    /* Dropped unresolved: rejected as "completion dropped". */
    CHECK(wk_completion_new(&c, &w, NULL) == WK_OK);
    wk_completion_free(c);
    CHECK(wk_completion_resolve(c, NULL, 0) == WK_E_INVALID_ARGUMENT);
    EXPECT_ERROR(wk_completion_wait(w, &data, &len, &err), WK_E_REJECTED,
                 "completion dropped");
    wk_completion_waiter_free(w);

    /* A waiter freed without waiting; the host's resolve still succeeds. */
    CHECK(wk_completion_new(&c, &w, NULL) == WK_OK);
    wk_completion_waiter_free(w);
    CHECK(wk_completion_resolve(c, (const uint8_t *)"x", 1) == WK_OK);
}

/* ---- executing workers ---- */

static const char WORKER[] =
    "export default {\n"
    "  async fetch(request, env, ctx) {\n"
    "    const path = request.url.replace('https://example.com', '');\n"
    "    console.log('path', path);\n"
    "    if (path === '/throw') { console.error('oops'); throw new TypeError('broken ' + path); }\n"
    "    const h = new Headers();\n"
    "    h.append('set-cookie', 'a=1');\n"
    "    h.append('set-cookie', 'b=2');\n"
    "    h.set('x-var', env.NAME);\n"
    "    h.set('x-accept', request.headers.get('accept') || '');\n"
    "    const body = request.method === 'POST' ? await request.text() : 'hello ' + path;\n"
    "    return new Response(body, { status: 201, headers: h });\n"
    "  },\n"
    "};\n"
    "export function add(env, a, b) { return a + b; }\n";

static const char KV_WORKER[] =
    "export default {\n"
    "  async fetch(request, env) {\n"
    "    if (request.url.endsWith('/fail')) {\n"
    "      try { await env.BROKEN.get('k'); return new Response('no error'); }\n"
    "      catch (e) { return new Response(e.name + ': ' + e.message, { status: 500 }); }\n"
    "    }\n"
    "    await env.KV.put('a', 'one', { metadata: { n: 1 } });\n"
    "    await env.KV.put('b', new Uint8Array([1, 2, 3]));\n"
    "    const a = await env.KV.getWithMetadata('a');\n"
    "    const list = await env.KV.list();\n"
    "    await env.KV.delete('b');\n"
    "    const gone = await env.KV.get('b');\n"
    "    const slow = await env.SLOW.get('a');\n"
    "    await env.LOCAL.put('x', 'y');\n"
    "    const local = await env.LOCAL.get('x');\n"
    "    return Response.json({ a, names: list.keys.map((k) => k.name),\n"
    "      meta: list.keys[0].metadata, gone, slow, local });\n"
    "  },\n"
    "};\n";

struct loader_state {
    int loads;
    int freed;
};

static wk_status_t load(void *user_data, const char *site, size_t site_len, const char *deploy,
                        size_t deploy_len, wk_source_t *out) {
    struct loader_state *st = (struct loader_state *)user_data;
    (void)deploy;
    (void)deploy_len;
    __atomic_add_fetch(&st->loads, 1, __ATOMIC_SEQ_CST);
    if (site_len == 2 && strcmp(site, "kv") == 0) {
        if (wk_source_add_module(out, S("kv.js"), WK_MODULE_ESM, (const uint8_t *)KV_WORKER,
                                 sizeof KV_WORKER - 1, NULL) != WK_OK)
            return WK_E_INTERNAL;
        return wk_source_set_main(out, S("kv.js"), NULL);
    }
    if (site_len == 4 && strcmp(site, "main") == 0) {
        if (wk_source_add_module(out, S("src/main.js"), WK_MODULE_ESM, (const uint8_t *)WORKER,
                                 sizeof WORKER - 1, NULL) != WK_OK)
            return WK_E_INTERNAL;
        return wk_source_set_main(out, S("src/main.js"), NULL);
    }
    wk_source_set_error(out, S("no worker called that"), NULL);
    return WK_E_NOT_FOUND;
}

static void free_state(void *user_data) {
    ((struct loader_state *)user_data)->freed++;
}

static void test_execute(wk_engine_t *engine) {
    wk_env_t *env = NULL;
    wk_request_t *req;
    wk_response_t *resp = NULL;
    wk_error_t *err = NULL;
    const char *name, *value, *msg;
    size_t name_len, value_len, msg_len, n, total;
    const uint8_t *body;
    uint8_t chunk[4];
    char collected[64];
    wk_log_level_t level;
    int cookies = 0;
    size_t i;

    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(wk_env_set_var(env, S("NAME"), S("ada"), NULL) == WK_OK);

    req = make_request("GET", "https://example.com/hi");
    CHECK(wk_request_add_header(req, S("accept"), S("text/html"), NULL) == WK_OK);
    CHECK(wk_request_add_header(req, S("accept"), S("text/plain"), NULL) == WK_OK);
    CHECK(wk_execute(engine, S("main"), S("v1"), env, req, &resp, &err) == WK_OK);
    CHECK(err == NULL);
    CHECK(wk_response_status(resp) == 201);
    for (i = 0; i < wk_response_header_count(resp); i++) {
        CHECK(wk_response_header_at(resp, i, &name, &name_len, &value, &value_len) == WK_OK);
        CHECK(strlen(name) == name_len && strlen(value) == value_len);
        if (strcmp(name, "set-cookie") == 0) {
            CHECK(strcmp(value, cookies == 0 ? "a=1" : "b=2") == 0);
            cookies++;
        }
        if (strcmp(name, "x-var") == 0) CHECK(strcmp(value, "ada") == 0);
        if (strcmp(name, "x-accept") == 0) CHECK(strcmp(value, "text/html, text/plain") == 0);
    }
    CHECK(cookies == 2);
    CHECK(wk_response_header_at(resp, 1000, NULL, NULL, NULL, NULL) == WK_E_NOT_FOUND);
    CHECK(wk_response_body(resp, &body, &n) == WK_OK);
    CHECK(n == 9 && memcmp(body, "hello /hi", 9) == 0);
    /* Incremental reads with a tiny buffer give the same bytes. */
    total = 0;
    do {
        CHECK(wk_response_body_read(resp, chunk, sizeof chunk, &n) == WK_OK);
        memcpy(collected + total, chunk, n);
        total += n;
    } while (n > 0 && total < sizeof collected - sizeof chunk);
    CHECK(total == 9 && memcmp(collected, "hello /hi", 9) == 0);
    CHECK(wk_response_log_count(resp) == 1);
    CHECK(wk_response_log_at(resp, 0, &level, &msg, &msg_len) == WK_OK);
    CHECK(level == WK_LOG_LOG && strcmp(msg, "path /hi") == 0 && msg_len == 8);
    wk_response_free(resp);
    wk_request_free(req);

    /* A binary POST body comes back unchanged... as text the worker decoded, so use ASCII. */
    req = make_request("POST", "https://example.com/echo");
    CHECK(wk_request_set_body(req, (const uint8_t *)"ping", 4, NULL) == WK_OK);
    CHECK(wk_execute(engine, S("main"), S("v1"), env, req, &resp, NULL) == WK_OK);
    CHECK(wk_response_body(resp, &body, &n) == WK_OK && n == 4 && memcmp(body, "ping", 4) == 0);
    wk_response_free(resp);
    wk_request_free(req);

    /* A worker exception: error status, error details, and still a 500 response with logs. */
    req = make_request("GET", "https://example.com/throw");
    CHECK(wk_execute(engine, S("main"), S("v1"), env, req, &resp, &err) == WK_E_EXCEPTION);
    CHECK(resp != NULL && wk_response_status(resp) == 500);
    CHECK(err != NULL && strcmp(wk_error_name(err), "TypeError") == 0);
    CHECK(strcmp(wk_error_kind(err), "exception") == 0);
    CHECK(contains(wk_error_message(err), "broken /throw"));
    CHECK(wk_response_log_count(resp) == 2);
    CHECK(wk_response_log_at(resp, 1, &level, &msg, NULL) == WK_OK);
    CHECK(level == WK_LOG_ERROR && strcmp(msg, "oops") == 0);
    wk_error_free(err);
    wk_response_free(resp);

    /* An unknown site: the loader's message comes back as WK_E_NOT_FOUND. */
    EXPECT_ERROR(wk_execute(engine, S("nope"), S("v1"), NULL, req, &resp, &err),
                 WK_E_NOT_FOUND, "no worker called that");
    wk_response_free(resp);
    wk_request_free(req);
    wk_env_free(env);
}

static void test_function_and_compile(wk_engine_t *engine) {
    char *json = NULL;
    size_t len = 0;
    wk_error_t *err = NULL;
    wk_source_t *src = NULL;
    uint8_t *cache = NULL;
    wk_request_t *req;
    wk_response_t *resp = NULL;
    const uint8_t *body;
    size_t n;
    static const char script[] =
        "addEventListener('fetch', e => e.respondWith(new Response('sw ' + e.request.method)));\n";
    static const char broken[] = "export default {\n  fetch( {\n};\n";

    CHECK(wk_execute_function(engine, S("main"), S("v1"), NULL, S("add"), S("[40, 2]"), &json,
                              &len, &err) == WK_OK);
    CHECK(json != NULL && strcmp(json, "42") == 0 && len == 2);
    wk_string_free(json);
    EXPECT_ERROR(wk_execute_function(engine, S("main"), S("v1"), NULL, S("add"), S("{}"), &json,
                                     &len, &err),
                 WK_E_INVALID_ARGUMENT, "JSON array");
    CHECK(json == NULL);

    /* compile_and_cache: a service-worker script served without the loader. */
    CHECK(wk_source_new(&src, NULL) == WK_OK);
    CHECK(wk_source_add_module(src, S("sw.js"), WK_MODULE_SCRIPT, (const uint8_t *)script,
                               sizeof script - 1, NULL) == WK_OK);
    CHECK(wk_compile_and_cache(engine, S("sw"), S("v1"), src, &cache, &len, &err) == WK_OK);
    CHECK(cache != NULL && len > 0);
    wk_bytes_free(cache);
    wk_source_free(src);
    req = make_request("PUT", "https://example.com/");
    CHECK(wk_execute(engine, S("sw"), S("v1"), NULL, req, &resp, NULL) == WK_OK);
    CHECK(wk_response_body(resp, &body, &n) == WK_OK && n == 6 && memcmp(body, "sw PUT", 6) == 0);
    wk_response_free(resp);
    wk_request_free(req);

    /* A syntax error names the file and line. */
    CHECK(wk_source_new(&src, NULL) == WK_OK);
    CHECK(wk_source_add_module(src, S("broken.js"), WK_MODULE_ESM, (const uint8_t *)broken,
                               sizeof broken - 1, NULL) == WK_OK);
    CHECK(wk_compile_and_cache(engine, S("broken"), S("v1"), src, &cache, &len, &err) ==
          WK_E_SCRIPT);
    CHECK(cache == NULL);
    CHECK(err != NULL && strncmp(wk_error_location(err), "broken.js:", 10) == 0);
    wk_error_free(err);
    wk_source_free(src);
}

/* ---- async ---- */

struct async_state {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done, ok, failed;
    pthread_t caller;
    int other_thread;
};

static void on_done(void *user_data, wk_status_t status, wk_response_t *resp, wk_error_t *err) {
    struct async_state *st = (struct async_state *)user_data;
    pthread_mutex_lock(&st->lock);
    st->done++;
    if (status == WK_OK && wk_response_status(resp) == 201 && err == NULL) st->ok++;
    if (status == WK_E_EXCEPTION && wk_response_status(resp) == 500 && err != NULL) st->failed++;
    if (!pthread_equal(pthread_self(), st->caller)) st->other_thread++;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    wk_response_free(resp);
    wk_error_free(err);
}

static void test_async(wk_engine_t *engine) {
    struct async_state st;
    int i;
    const int count = 20;
    memset(&st, 0, sizeof st);
    pthread_mutex_init(&st.lock, NULL);
    pthread_cond_init(&st.cond, NULL);
    st.caller = pthread_self();
    for (i = 0; i < count; i++) {
        wk_request_t *req =
            make_request("GET", i % 5 == 4 ? "https://example.com/throw" : "https://example.com/a");
        CHECK(wk_execute_async(engine, S("main"), S("v1"), NULL, req, on_done, &st, NULL) ==
              WK_OK);
        wk_request_free(req); /* copied by wk_execute_async */
    }
    pthread_mutex_lock(&st.lock);
    while (st.done < count) pthread_cond_wait(&st.cond, &st.lock);
    pthread_mutex_unlock(&st.lock);
    CHECK(st.ok == count - count / 5);
    CHECK(st.failed == count / 5);
    CHECK(st.other_thread == count);
    pthread_mutex_destroy(&st.lock);
    pthread_cond_destroy(&st.cond);
}

/* ---- KV namespaces implemented in C ---------------------------------------------------- */

#define KV_MAX 16
struct kv_item {
    char key[64];
    uint8_t value[64];
    size_t len;
    char metadata[128]; /* "" = none */
};
struct kv_store {
    pthread_mutex_t lock;
    struct kv_item items[KV_MAX];
    int count;
};
enum kv_mode { KV_INLINE, KV_LATER, KV_FAIL };
struct kv_handle {
    struct kv_store *store;
    enum kv_mode mode;
    int *freed;
};
struct kv_later {
    wk_completion_t *c;
    struct kv_item item;
    int found;
};

static int kv_freed; /* finalized store handles */

static struct kv_item *kv_find(struct kv_store *s, const char *key) {
    int i;
    for (i = 0; i < s->count; i++)
        if (strcmp(s->items[i].key, key) == 0) return &s->items[i];
    return NULL;
}

static void kv_resolve_item(wk_completion_t *c, const struct kv_item *it) {
    if (it == NULL) {
        wk_completion_resolve_null(c);
        return;
    }
    wk_completion_resolve_kv(c, it->value, it->len, it->metadata[0] ? it->metadata : NULL,
                             strlen(it->metadata), 0);
}

/* Answers from another thread, after the callback has returned. */
static void *kv_answer_later(void *arg) {
    struct kv_later *l = (struct kv_later *)arg;
    sleep_ms(20);
    kv_resolve_item(l->c, l->found ? &l->item : NULL);
    free(l);
    done_later();
    return NULL;
}

static void kv_get(void *user_data, const char *key, size_t key_len, wk_completion_t *c) {
    struct kv_handle *h = (struct kv_handle *)user_data;
    struct kv_item *it;
    (void)key_len;
    if (h->mode == KV_FAIL) {
        wk_completion_reject(c, S("disk on fire"));
        return;
    }
    pthread_mutex_lock(&h->store->lock);
    it = kv_find(h->store, key);
    if (h->mode == KV_LATER) {
        struct kv_later *l = (struct kv_later *)calloc(1, sizeof *l);
        l->c = c;
        l->found = it != NULL;
        if (it) l->item = *it;
        if (run_later(kv_answer_later, l) != 0) {
            free(l);
            wk_completion_reject(c, S("no thread"));
        }
    } else {
        kv_resolve_item(c, it);
    }
    pthread_mutex_unlock(&h->store->lock);
}

static void kv_put(void *user_data, const char *key, size_t key_len, const uint8_t *value,
                   size_t value_len, const char *metadata, size_t metadata_len,
                   uint64_t expiration, wk_completion_t *c) {
    struct kv_handle *h = (struct kv_handle *)user_data;
    struct kv_item *it;
    (void)expiration;
    if (key_len >= sizeof it->key || value_len > sizeof it->value ||
        metadata_len >= sizeof it->metadata) {
        wk_completion_reject(c, S("too big for this test store"));
        return;
    }
    pthread_mutex_lock(&h->store->lock);
    it = kv_find(h->store, key);
    if (it == NULL && h->store->count < KV_MAX) it = &h->store->items[h->store->count++];
    if (it != NULL) {
        memcpy(it->key, key, key_len + 1);
        memcpy(it->value, value, value_len);
        it->len = value_len;
        it->metadata[0] = 0;
        if (metadata != NULL) memcpy(it->metadata, metadata, metadata_len + 1);
    }
    pthread_mutex_unlock(&h->store->lock);
    if (it != NULL)
        wk_completion_resolve(c, NULL, 0);
    else
        wk_completion_reject(c, S("store full"));
}

static void kv_delete(void *user_data, const char *key, size_t key_len, wk_completion_t *c) {
    struct kv_handle *h = (struct kv_handle *)user_data;
    struct kv_item *it;
    (void)key_len;
    pthread_mutex_lock(&h->store->lock);
    it = kv_find(h->store, key);
    if (it != NULL) *it = h->store->items[--h->store->count];
    pthread_mutex_unlock(&h->store->lock);
    wk_completion_resolve(c, NULL, 0);
}

static int kv_cmp(const void *a, const void *b) {
    return strcmp(((const struct kv_item *)a)->key, ((const struct kv_item *)b)->key);
}

static void kv_list(void *user_data, const char *prefix, size_t prefix_len, uint32_t limit,
                    const char *cursor, size_t cursor_len, wk_completion_t *c) {
    struct kv_handle *h = (struct kv_handle *)user_data;
    char json[2048];
    size_t n = 0;
    int i, listed = 0;
    (void)cursor;
    (void)cursor_len;
    pthread_mutex_lock(&h->store->lock);
    qsort(h->store->items, (size_t)h->store->count, sizeof h->store->items[0], kv_cmp);
    n += (size_t)snprintf(json + n, sizeof json - n, "{\"keys\":[");
    for (i = 0; i < h->store->count && (uint32_t)listed < limit; i++) {
        const struct kv_item *it = &h->store->items[i];
        if (strncmp(it->key, prefix, prefix_len) != 0) continue;
        n += (size_t)snprintf(json + n, sizeof json - n, "%s{\"name\":\"%s\"", listed ? "," : "",
                              it->key);
        if (it->metadata[0])
            n += (size_t)snprintf(json + n, sizeof json - n, ",\"metadata\":%s", it->metadata);
        n += (size_t)snprintf(json + n, sizeof json - n, "}");
        listed++;
    }
    n += (size_t)snprintf(json + n, sizeof json - n, "],\"list_complete\":true}");
    pthread_mutex_unlock(&h->store->lock);
    wk_completion_resolve(c, (const uint8_t *)json, n);
}

static void kv_handle_free(void *user_data) {
    struct kv_handle *h = (struct kv_handle *)user_data;
    (*h->freed)++;
    free(h);
}

static wk_status_t add_store(wk_env_t *env, const char *name, struct kv_store *store,
                             enum kv_mode mode, int *freed) {
    wk_kv_vtable_t vt;
    struct kv_handle *h = (struct kv_handle *)calloc(1, sizeof *h);
    h->store = store;
    h->mode = mode;
    h->freed = freed;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.get = kv_get;
    vt.put = kv_put;
    vt.remove = kv_delete;
    vt.list = kv_list;
    return wk_env_add_kv(env, name, strlen(name), &vt, h, kv_handle_free, NULL);
}

static void test_kv(wk_engine_t *engine) {
    static struct kv_store store;
    wk_env_t *env = NULL;
    wk_error_t *err = NULL;
    wk_kv_vtable_t bad;
    char path[128];
    const char *want =
        "{\"a\":{\"value\":\"one\",\"metadata\":{\"n\":1},\"cacheStatus\":null},"
        "\"names\":[\"a\",\"b\"],\"meta\":{\"n\":1},\"gone\":null,\"slow\":\"one\",\"local\":\"y\"}";

    memset(&store, 0, sizeof store);
    pthread_mutex_init(&store.lock, NULL);
    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(add_store(env, "KV", &store, KV_INLINE, &kv_freed) == WK_OK);
    CHECK(add_store(env, "SLOW", &store, KV_LATER, &kv_freed) == WK_OK);
    CHECK(add_store(env, "BROKEN", &store, KV_FAIL, &kv_freed) == WK_OK);
    snprintf(path, sizeof path, "/tmp/wk-c-kv-%d/ns.sqlite", (int)getpid());
    CHECK(wk_env_add_kv_default(env, S("LOCAL"), path, strlen(path), NULL) == WK_OK);

    /* A vtable with a missing callback is refused, and its user_data still finalized. */
    memset(&bad, 0, sizeof bad);
    bad.struct_size = sizeof bad;
    bad.get = kv_get;
    EXPECT_ERROR(wk_env_add_kv(env, S("BAD"), &bad, calloc(1, 1), free, &err),
                 WK_E_INVALID_ARGUMENT, "wk_kv_vtable_t.put is NULL");

    expect_get(engine, "kv", env, "/", 200, want);
    /* A failing store rejects the worker's promise with the host's message. */
    expect_get(engine, "kv", env, "/fail", 500, "Error: disk on fire");

    /* The stores live as long as the worker that saw them: dropping the env frees nothing. */
    wk_env_free(env);
    CHECK(kv_freed == 0);
    wait_for_threads();
    pthread_mutex_destroy(&store.lock);
}

int main(void) {
    struct loader_state state = {0, 0};
    wk_engine_t *engine;

    test_bad_inputs();
    test_completions();

    engine = start_engine(load, &state, free_state, 2, 1);
    if (engine == NULL) return summary("abi");
    test_execute(engine);
    test_function_and_compile(engine);
    test_async(engine);
    test_kv(engine);
    CHECK(state.loads >= 1);
    CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
    CHECK(state.freed == 0);
    wk_engine_free(engine);
    CHECK(state.freed == 1);
    CHECK(kv_freed == 3);

    return summary("abi");
}
