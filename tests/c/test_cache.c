/*
 * The Cache API's C ABI (strict C99 + pthreads), meant to run under AddressSanitizer with leak
 * detection or under valgrind: a cache store implemented in C answering inline, one answering
 * from another thread after the callback returned, one failing (the worker's promise rejects
 * with the host's message); the env's own in-memory cache and the engine's default; bad inputs.
 */
#include "check.h"

static const char WORKER[] =
    "export default {\n"
    "  async fetch(request) {\n"
    "    const url = new URL(request.url);\n"
    "    const cache = caches.default;\n"
    "    if (url.pathname === '/fail') {\n"
    "      try { await cache.match('https://c.test/x'); return new Response('no error'); }\n"
    "      catch (e) { return new Response(e.name + ': ' + e.message, { status: 500 }); }\n"
    "    }\n"
    "    if (url.pathname === '/remember') {\n"
    "      const hit = await cache.match('https://c.test/memo');\n"
    "      if (hit) return new Response('hit ' + await hit.text());\n"
    "      await cache.put('https://c.test/memo', new Response(url.search,\n"
    "        { headers: { 'cache-control': 'max-age=60' } }));\n"
    "      return new Response('stored');\n"
    "    }\n"
    "    const named = await caches.open('pics');\n"
    "    await cache.put('https://c.test/x', new Response('0123456789', { headers: {\n"
    "      'cache-control': 'max-age=600', etag: '\"v1\"', 'content-type': 'text/plain' } }));\n"
    "    await cache.put('https://c.test/nostore', new Response('n',\n"
    "      { headers: { 'cache-control': 'no-store' } }));\n"
    "    await named.put('https://c.test/x', new Response('named',\n"
    "      { headers: { 'cache-control': 'max-age=600' } }));\n"
    "    const hit = await cache.match('https://c.test/x');\n"
    "    const cond = await cache.match(new Request('https://c.test/x',\n"
    "      { headers: { 'if-none-match': '\"v1\"' } }));\n"
    "    const range = await cache.match(new Request('https://c.test/x',\n"
    "      { headers: { range: 'bytes=2-4' } }));\n"
    "    return Response.json({\n"
    "      hit: [hit.status, hit.headers.get('cf-cache-status'), hit.headers.get('content-type'),\n"
    "        await hit.text()],\n"
    "      cond: cond.status,\n"
    "      range: [range.status, range.headers.get('content-range'), await range.text()],\n"
    "      named: await (await named.match('https://c.test/x')).text(),\n"
    "      nostore: String(await cache.match('https://c.test/nostore')),\n"
    "      deleted: [await named.delete('https://c.test/x'), await named.delete('https://c.test/x')],\n"
    "      miss: String(await named.match('https://c.test/x')),\n"
    "    });\n"
    "  },\n"
    "};\n";

static const char WANT[] =
    "{\"hit\":[200,\"HIT\",\"text/plain\",\"0123456789\"],\"cond\":304,"
    "\"range\":[206,\"bytes 2-4/10\",\"234\"],\"named\":\"named\",\"nostore\":\"undefined\","
    "\"deleted\":[true,false],\"miss\":\"undefined\"}";

static struct one_module MODULE = {"cache.js", WORKER};

/* ---- a cache store in C ------------------------------------------------------------------ */

#define MAX_ENTRIES 8
struct entry {
    int named; /* 0: caches.default */
    char name[64];
    char url[256];
    uint16_t status;
    char headers[512];
    uint8_t body[256];
    size_t body_len;
    uint64_t expires_at;
};
struct store {
    pthread_mutex_t lock;
    struct entry entries[MAX_ENTRIES];
    int count;
    int puts; /* put calls received */
    uint64_t last_expires_at;
    char last_headers[512];
    int saw_named_put; /* a put for the cache "pics" */
};
enum mode { INLINE, LATER, FAIL };
struct handle {
    struct store *store;
    enum mode mode;
};

static int handles_freed;

/* What a later answer settles the completion with. */
enum answer_kind { ANSWER_NULL, ANSWER_ENTRY, ANSWER_DONE, ANSWER_BYTE };
struct later {
    wk_completion_t *c;
    enum answer_kind kind;
    struct entry entry;
    uint8_t byte;
};

static struct entry *find(struct store *s, const char *name, const char *url) {
    int i;
    for (i = 0; i < s->count; i++) {
        struct entry *e = &s->entries[i];
        if (e->named == (name != NULL) && (name == NULL || strcmp(e->name, name) == 0) &&
            strcmp(e->url, url) == 0)
            return e;
    }
    return NULL;
}

static void settle(const struct later *a) {
    switch (a->kind) {
    case ANSWER_NULL:
        wk_completion_resolve_null(a->c);
        break;
    case ANSWER_ENTRY:
        wk_completion_resolve_cache(a->c, a->entry.status, a->entry.headers,
                                    strlen(a->entry.headers), a->entry.body, a->entry.body_len,
                                    a->entry.expires_at);
        break;
    case ANSWER_DONE:
        wk_completion_resolve(a->c, NULL, 0);
        break;
    case ANSWER_BYTE:
        wk_completion_resolve(a->c, &a->byte, 1);
        break;
    }
}

static void *answer_later(void *arg) {
    struct later *a = (struct later *)arg;
    sleep_ms(15);
    settle(a);
    free(a);
    done_later();
    return NULL;
}

/* Settles now (INLINE) or from a new thread once this callback has returned (LATER). */
static void answer(const struct handle *h, struct later *a) {
    if (h->mode == LATER) {
        struct later *copy = (struct later *)malloc(sizeof *copy);
        *copy = *a;
        if (run_later(answer_later, copy) == 0) return;
        free(copy);
    }
    settle(a);
}

static void cache_get(void *user_data, const char *name, size_t name_len, const char *url,
                      size_t url_len, wk_completion_t *c) {
    const struct handle *h = (const struct handle *)user_data;
    struct later a;
    struct entry *e;
    (void)name_len;
    (void)url_len;
    if (h->mode == FAIL) {
        wk_completion_reject(c, S("cache disk on fire"));
        return;
    }
    memset(&a, 0, sizeof a);
    a.c = c;
    pthread_mutex_lock(&h->store->lock);
    e = find(h->store, name, url);
    a.kind = e != NULL ? ANSWER_ENTRY : ANSWER_NULL;
    if (e != NULL) a.entry = *e;
    pthread_mutex_unlock(&h->store->lock);
    answer(h, &a);
}

static void cache_put(void *user_data, const char *name, size_t name_len, const char *url,
                      size_t url_len, uint16_t status, const char *headers, size_t headers_len,
                      const uint8_t *body, size_t body_len, uint64_t expires_at,
                      wk_completion_t *c) {
    const struct handle *h = (const struct handle *)user_data;
    struct store *s = h->store;
    struct later a;
    struct entry *e;
    if (h->mode == FAIL) {
        wk_completion_reject(c, S("cache disk on fire"));
        return;
    }
    if (name_len >= sizeof e->name || url_len >= sizeof e->url ||
        headers_len >= sizeof e->headers || body_len > sizeof e->body) {
        wk_completion_reject(c, S("too big for this test store"));
        return;
    }
    pthread_mutex_lock(&s->lock);
    s->puts++;
    s->last_expires_at = expires_at;
    memcpy(s->last_headers, headers, headers_len + 1);
    if (name != NULL && strcmp(name, "pics") == 0) s->saw_named_put = 1;
    e = find(s, name, url);
    if (e == NULL && s->count < MAX_ENTRIES) e = &s->entries[s->count++];
    if (e != NULL) {
        e->named = name != NULL;
        if (name != NULL) memcpy(e->name, name, name_len + 1);
        memcpy(e->url, url, url_len + 1);
        e->status = status;
        memcpy(e->headers, headers, headers_len + 1);
        if (body_len > 0) memcpy(e->body, body, body_len);
        e->body_len = body_len;
        e->expires_at = expires_at;
    }
    pthread_mutex_unlock(&s->lock);
    if (e == NULL) {
        wk_completion_reject(c, S("store full"));
        return;
    }
    memset(&a, 0, sizeof a);
    a.c = c;
    a.kind = ANSWER_DONE;
    answer(h, &a);
}

static void cache_remove(void *user_data, const char *name, size_t name_len, const char *url,
                         size_t url_len, wk_completion_t *c) {
    const struct handle *h = (const struct handle *)user_data;
    struct store *s = h->store;
    struct later a;
    struct entry *e;
    (void)name_len;
    (void)url_len;
    if (h->mode == FAIL) {
        wk_completion_reject(c, S("cache disk on fire"));
        return;
    }
    memset(&a, 0, sizeof a);
    a.c = c;
    a.kind = ANSWER_BYTE;
    pthread_mutex_lock(&s->lock);
    e = find(s, name, url);
    a.byte = e != NULL;
    if (e != NULL) *e = s->entries[--s->count];
    pthread_mutex_unlock(&s->lock);
    answer(h, &a);
}

static void handle_free(void *user_data) {
    __atomic_add_fetch(&handles_freed, 1, __ATOMIC_SEQ_CST);
    free(user_data);
}

static wk_status_t set_store(wk_env_t *env, struct store *store, enum mode mode) {
    wk_cache_vtable_t vt;
    struct handle *h = (struct handle *)calloc(1, sizeof *h);
    h->store = store;
    h->mode = mode;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.get = cache_get;
    vt.put = cache_put;
    vt.remove = cache_remove;
    return wk_env_set_cache(env, &vt, h, handle_free, NULL);
}

/* ---- running the worker ------------------------------------------------------------------ */

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void test_store(wk_engine_t *engine, enum mode mode) {
    static struct store store;
    wk_env_t *env = NULL;
    uint64_t now = now_ms();

    memset(&store, 0, sizeof store);
    pthread_mutex_init(&store.lock, NULL);
    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(set_store(env, &store, mode) == WK_OK);
    expect_get(engine, "cache", env, "/", 200, WANT);
    /* Only storable responses reached the store: the no-store one never did. */
    CHECK(store.puts == 2);
    CHECK(store.saw_named_put);
    CHECK(store.last_expires_at >= now + 599000 && store.last_expires_at <= now_ms() + 600000);
    CHECK(contains(store.last_headers, "[\"cache-control\",\"max-age=600\"]"));
    wk_env_free(env);
    wait_for_threads();
    pthread_mutex_destroy(&store.lock);
}

static void test_failing_store(wk_engine_t *engine) {
    static struct store store;
    wk_env_t *env = NULL;
    memset(&store, 0, sizeof store);
    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(set_store(env, &store, FAIL) == WK_OK);
    expect_get(engine, "cache", env, "/fail", 500, "Error: cache disk on fire");
    wk_env_free(env);
}

static void test_memory_caches(wk_engine_t *engine) {
    wk_env_t *plain = NULL, *own = NULL;
    wk_error_t *err = NULL;
    CHECK(wk_env_new(&plain, NULL) == WK_OK);
    CHECK(wk_env_new(&own, NULL) == WK_OK);
    CHECK(wk_env_set_cache_memory(own, 1 << 20, &err) == WK_OK && err == NULL);
    CHECK(wk_env_set_cache_memory(NULL, 0, NULL) == WK_E_INVALID_ARGUMENT);

    /* The env's own cache keeps entries across requests... */
    expect_get(engine, "memo", own, "/remember?own", 200, "stored");
    expect_get(engine, "memo", own, "/remember", 200, "hit ?own");
    /* ...apart from the engine's default, which an env without a cache store uses, per site. */
    expect_get(engine, "memo", plain, "/remember?default", 200, "stored");
    expect_get(engine, "memo", plain, "/remember", 200, "hit ?default");
    expect_get(engine, "other-site", plain, "/remember?other", 200, "stored");
    expect_get(engine, "memo", own, "/remember", 200, "hit ?own");
    wk_env_free(plain);
    wk_env_free(own);
}

static void test_bad_inputs(void) {
    wk_env_t *env = NULL;
    wk_error_t *err = NULL;
    wk_cache_vtable_t vt;
    wk_completion_t *c = NULL;
    wk_completion_waiter_t *w = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    static const char headers[] = "[[\"etag\",\"\\\"x\\\"\"]]";

    CHECK(wk_env_new(&env, NULL) == WK_OK);
    EXPECT_ERROR(wk_env_set_cache(env, NULL, NULL, NULL, &err),
                 WK_E_INVALID_ARGUMENT, "vtable is NULL");
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.get = cache_get;
    vt.put = cache_put;
    /* A missing callback is refused, and the user_data is finalized at once. */
    EXPECT_ERROR(wk_env_set_cache(env, &vt, calloc(1, 1), free, &err),
                 WK_E_INVALID_ARGUMENT, "wk_cache_vtable_t.remove is NULL");
    vt.remove = cache_remove;
    vt.struct_size = 4;
    EXPECT_ERROR(wk_env_set_cache(env, &vt, NULL, NULL, &err),
                 WK_E_INVALID_ARGUMENT, "struct_size is 4");
    CHECK(wk_env_set_cache(NULL, &vt, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);
    wk_env_free(env);

    /* resolve_cache refuses a bad status or headers and leaves the completion outstanding. */
    CHECK(wk_completion_new(&c, &w, NULL) == WK_OK);
    CHECK(wk_completion_resolve_cache(c, 99, S("[]"), NULL, 0, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_cache(c, 200, S("{\"etag\":1}"), NULL, 0, 0) ==
          WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_cache(c, 200, S("[[\"bad name\",\"v\"]]"), NULL, 0, 0) ==
          WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_cache(c, 200, S("[]"), NULL, 3, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_cache(NULL, 200, S("[]"), NULL, 0, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_cache(c, 200, headers, sizeof headers - 1,
                                      (const uint8_t *)"body", 4, 1) == WK_OK);
    CHECK(wk_completion_resolve_cache(c, 200, S("[]"), NULL, 0, 0) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_wait(w, &data, &len, NULL) == WK_OK);
    CHECK(len == 4 && memcmp(data, "body", 4) == 0);
    wk_bytes_free(data);
    wk_completion_waiter_free(w);
}

int main(void) {
    wk_engine_t *engine;

    test_bad_inputs();

    engine = start_engine(load_one_module, &MODULE, NULL, 2, 1);
    if (engine == NULL) return summary("cache");
    test_store(engine, INLINE);
    test_store(engine, LATER);
    test_failing_store(engine);
    test_memory_caches(engine);
    CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
    wk_engine_free(engine);
    /* The three stores are finalized once no env or worker holds them. */
    CHECK(__atomic_load_n(&handles_freed, __ATOMIC_SEQ_CST) == 3);

    return summary("cache");
}
