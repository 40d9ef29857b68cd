/*
 * R2 buckets implemented in C (strict C99 + pthreads), meant to run under AddressSanitizer or
 * valgrind: a store answering inline, one answering from its own threads after the callback
 * returned (reading put bodies and writing get bodies there, a few bytes at a time), one
 * failing, and the embedded bucket; plus the wk_body_t and helper calls on their own.
 */
#include "check.h"

static const char WORKER[] =
    "export default {\n"
    "  async fetch(request, env) {\n"
    "    const path = new URL(request.url).pathname;\n"
    "    if (path === '/fail') {\n"
    "      try { await env.BROKEN.head('k'); return new Response('no error'); }\n"
    "      catch (e) { return new Response(e.name + ': ' + e.message, { status: 500 }); }\n"
    "    }\n"
    "    const B = path === '/later' ? env.LATER : path === '/local' ? env.LOCAL : env.INLINE;\n"
    "    const opts = { customMetadata: { by: 'c' } };\n"
    "    let put;\n"
    "    if (path === '/inline') {\n"
    "      put = await B.put('k', 'abcdefghijklmnopqrstuvwxyz', opts);\n"
    "    } else {\n"
    "      const { readable, writable } = new FixedLengthStream(26);\n"
    "      const w = writable.getWriter();\n"
    "      w.write(new TextEncoder().encode('abcdefghijklm'));\n"
    "      w.write(new TextEncoder().encode('nopqrstuvwxyz'));\n"
    "      w.close();\n"
    "      put = await B.put('k', readable, opts);\n"
    "    }\n"
    "    const got = await B.get('k');\n"
    "    let text = '', chunks = 0;\n"
    "    for await (const c of got.body) { chunks++; text += new TextDecoder().decode(c); }\n"
    "    const part = await (await B.get('k', { range: { offset: 20 } })).text();\n"
    "    const cond = await B.get('k', { onlyIf: { etagDoesNotMatch: put.etag } });\n"
    "    const refused = await B.put('k', 'x', { onlyIf: { etagMatches: 'nope' } });\n"
    "    await B.put('j', 'j');\n"
    "    const keys = (await B.list()).objects.map((o) => o.key);\n"
    "    await B.delete(['j']);\n"
    "    return Response.json({ size: put.size, by: (await B.head('k')).customMetadata.by,\n"
    "      text, many: chunks > 1, part, condHasBody: 'body' in cond, refused, keys,\n"
    "      jGone: (await B.head('j')) === null });\n"
    "  },\n"
    "};\n";

/* ---- an in-memory bucket in C ------------------------------------------------------------- */

#define MAX_OBJECTS 8
struct object {
    char key[64];
    unsigned char data[64];
    size_t size;
    char etag[17];
    double uploaded;
    char custom[128]; /* the customMetadata JSON object */
};

struct bucket {
    pthread_mutex_t lock;
    int count;
    struct object objects[MAX_OBJECTS];
};

enum mode { R2_INLINE, R2_LATER, R2_FAIL };

struct handle {
    struct bucket *bucket;
    enum mode mode;
};

static int handles_freed;

static void etag_of(const unsigned char *data, size_t n, char out[17]) {
    unsigned long long h = 1469598103934665603ULL; /* FNV-1a: any stable digest will do here */
    size_t i;
    for (i = 0; i < n; i++) h = (h ^ data[i]) * 1099511628211ULL;
    snprintf(out, 17, "%016llx", h);
}

static struct object *find(struct bucket *b, const char *key) {
    int i;
    for (i = 0; i < b->count; i++)
        if (strcmp(b->objects[i].key, key) == 0) return &b->objects[i];
    return NULL;
}

/* Copies the JSON object member `name` of `json` (a balanced {...}) into `out`, or "{}". */
static void member(const char *json, const char *name, char *out, size_t cap) {
    char pat[64];
    const char *p, *q;
    int depth = 0;
    snprintf(pat, sizeof pat, "\"%s\":{", name);
    p = strstr(json, pat);
    if (p == NULL) {
        snprintf(out, cap, "{}");
        return;
    }
    p += strlen(pat) - 1;
    for (q = p; *q; q++) {
        if (*q == '{') depth++;
        if (*q == '}' && --depth == 0) break;
    }
    snprintf(out, cap, "%.*s", (int)(q - p + 1), p);
}

static void object_json(const struct object *o, char *out, size_t cap) {
    snprintf(out, cap,
             "{\"key\":\"%s\",\"version\":\"%s\",\"size\":%zu,\"etag\":\"%s\",\"uploaded\":%.0f,"
             "\"customMetadata\":%s}",
             o->key, o->etag, o->size, o->etag, o->uploaded, o->custom);
}

static void resolve_object(wk_completion_t *c, const struct object *o) {
    char json[512];
    object_json(o, json, sizeof json);
    CHECK(wk_completion_resolve(c, (const uint8_t *)json, strlen(json)) == WK_OK);
}

static int reject_if_failing(struct handle *h, wk_completion_t *c) {
    if (h->mode != R2_FAIL) return 0;
    CHECK(wk_completion_reject(c, S("disk on fire")) == WK_OK);
    return 1;
}

static void r2_head(void *user_data, const char *key, size_t key_len, wk_completion_t *c) {
    struct handle *h = (struct handle *)user_data;
    struct object *o;
    (void)key_len;
    if (reject_if_failing(h, c)) return;
    pthread_mutex_lock(&h->bucket->lock);
    o = find(h->bucket, key);
    if (o == NULL) CHECK(wk_completion_resolve_null(c) == WK_OK);
    else resolve_object(c, o);
    pthread_mutex_unlock(&h->bucket->lock);
}

/* A get answered from another thread: resolve first, then write the body 3 bytes at a time
 * (more chunks than the body holds, so the writes wait for the worker to read). */
struct get_later {
    wk_completion_t *c;
    char json[512];
    unsigned char data[64];
    size_t len;
};

static void *get_answer_later(void *arg) {
    struct get_later *g = (struct get_later *)arg;
    wk_body_t *body = NULL;
    size_t i;
    sleep_ms(5);
    CHECK(wk_body_new(&body, NULL) == WK_OK);
    CHECK(wk_completion_resolve_r2_body(g->c, g->json, strlen(g->json), body) == WK_OK);
    for (i = 0; i < g->len; i += 3) {
        size_t n = g->len - i < 3 ? g->len - i : 3;
        CHECK(wk_body_write(body, g->data + i, n, NULL) == WK_OK);
    }
    CHECK(wk_body_close(body, NULL, 0) == WK_OK);
    wk_body_free(body);
    free(g);
    done_later();
    return NULL;
}

static void r2_get(void *user_data, const char *key, size_t key_len, const char *options,
                   size_t options_len, wk_completion_t *c) {
    struct handle *h = (struct handle *)user_data;
    struct object *o;
    int holds = 0;
    uint64_t offset = 0, length = 0;
    char json[512];
    (void)key_len;
    if (reject_if_failing(h, c)) return;
    pthread_mutex_lock(&h->bucket->lock);
    o = find(h->bucket, key);
    if (o == NULL) {
        CHECK(wk_completion_resolve_null(c) == WK_OK);
        pthread_mutex_unlock(&h->bucket->lock);
        return;
    }
    CHECK(wk_r2_conditional_holds(options, options_len, o->etag, strlen(o->etag), o->uploaded,
                                  &holds, NULL) == WK_OK);
    if (!holds) {
        resolve_object(c, o);
        pthread_mutex_unlock(&h->bucket->lock);
        return;
    }
    CHECK(wk_r2_resolve_range(options, options_len, o->size, &offset, &length, NULL) == WK_OK);
    object_json(o, json, sizeof json);
    /* Add the range served: replace the closing brace. */
    snprintf(json + strlen(json) - 1, sizeof json - strlen(json) + 1,
             ",\"range\":{\"offset\":%llu,\"length\":%llu}}", (unsigned long long)offset,
             (unsigned long long)length);
    if (h->mode == R2_LATER) {
        struct get_later *g = (struct get_later *)calloc(1, sizeof *g);
        g->c = c;
        memcpy(g->json, json, sizeof json);
        memcpy(g->data, o->data + offset, (size_t)length);
        g->len = (size_t)length;
        if (run_later(get_answer_later, g) != 0) {
            CHECK(wk_completion_reject(c, S("no thread")) == WK_OK);
            free(g);
        }
    } else {
        /* One chunk fits the body without waiting, so the callback can write it inline. */
        wk_body_t *body = NULL;
        CHECK(wk_body_new(&body, NULL) == WK_OK);
        CHECK(wk_body_write(body, o->data + offset, (size_t)length, NULL) == WK_OK);
        CHECK(wk_body_close(body, NULL, 0) == WK_OK);
        CHECK(wk_completion_resolve_r2_body(c, json, strlen(json), body) == WK_OK);
        wk_body_free(body);
    }
    pthread_mutex_unlock(&h->bucket->lock);
}

struct put_job {
    struct handle *h;
    char key[64];
    char *options;
    size_t options_len;
    wk_body_t *body;
    wk_completion_t *c;
};

/* Reads the body to its end, then stores it if `onlyIf` holds, all under the bucket's lock. */
static void put_finish(struct put_job *j) {
    unsigned char data[64];
    size_t len = 0, n = 0;
    wk_error_t *err = NULL;
    struct object *o;
    int holds = 0;
    for (;;) {
        if (wk_body_read(j->body, data + len, sizeof data - len, &n, &err) != WK_OK) {
            CHECK(wk_completion_reject(j->c, wk_error_message(err),
                                       strlen(wk_error_message(err))) == WK_OK);
            wk_error_free(err);
            return;
        }
        if (n == 0) break;
        len += n;
    }
    pthread_mutex_lock(&j->h->bucket->lock);
    o = find(j->h->bucket, j->key);
    CHECK(wk_r2_conditional_holds(j->options, j->options_len, o ? o->etag : NULL,
                                  o ? strlen(o->etag) : 0, o ? o->uploaded : 0, &holds,
                                  NULL) == WK_OK);
    if (!holds) {
        CHECK(wk_completion_resolve_null(j->c) == WK_OK);
    } else {
        if (o == NULL && j->h->bucket->count < MAX_OBJECTS)
            o = &j->h->bucket->objects[j->h->bucket->count++];
        memset(o, 0, sizeof *o);
        snprintf(o->key, sizeof o->key, "%s", j->key);
        memcpy(o->data, data, len);
        o->size = len;
        etag_of(data, len, o->etag);
        o->uploaded = (double)time(NULL) * 1000.0;
        member(j->options, "customMetadata", o->custom, sizeof o->custom);
        resolve_object(j->c, o);
    }
    pthread_mutex_unlock(&j->h->bucket->lock);
}

static void *put_later(void *arg) {
    struct put_job *j = (struct put_job *)arg;
    put_finish(j);
    wk_body_free(j->body);
    free(j->options);
    free(j);
    done_later();
    return NULL;
}

static void r2_put(void *user_data, const char *key, size_t key_len, const char *options,
                   size_t options_len, wk_body_t *body, wk_completion_t *c) {
    struct handle *h = (struct handle *)user_data;
    struct put_job *j;
    if (reject_if_failing(h, c)) {
        wk_body_free(body);
        return;
    }
    j = (struct put_job *)calloc(1, sizeof *j);
    j->h = h;
    snprintf(j->key, sizeof j->key, "%.*s", (int)key_len, key);
    j->options = (char *)malloc(options_len + 1);
    memcpy(j->options, options, options_len + 1);
    j->options_len = options_len;
    j->body = body;
    j->c = c;
    if (h->mode == R2_LATER && run_later(put_later, j) == 0) return;
    /* Inline: only bodies the worker had in hand (strings, buffers) can be read here. */
    put_finish(j);
    wk_body_free(body);
    free(j->options);
    free(j);
}

static void r2_remove(void *user_data, const char *keys, size_t keys_len,
                      wk_completion_t *c) {
    struct handle *h = (struct handle *)user_data;
    const char *p = keys, *end = keys + keys_len;
    char key[64];
    if (reject_if_failing(h, c)) return;
    pthread_mutex_lock(&h->bucket->lock);
    /* keys is a JSON array of plain strings: ["a","b"] (the test's keys have no escapes). */
    while ((p = memchr(p, '"', (size_t)(end - p))) != NULL) {
        const char *q = memchr(p + 1, '"', (size_t)(end - p - 1));
        struct object *o;
        if (q == NULL) break;
        snprintf(key, sizeof key, "%.*s", (int)(q - p - 1), p + 1);
        o = find(h->bucket, key);
        if (o != NULL) *o = h->bucket->objects[--h->bucket->count];
        p = q + 1;
    }
    pthread_mutex_unlock(&h->bucket->lock);
    CHECK(wk_completion_resolve(c, NULL, 0) == WK_OK);
}

static int by_key(const void *a, const void *b) {
    return strcmp(((const struct object *)a)->key, ((const struct object *)b)->key);
}

static void r2_list(void *user_data, const char *options, size_t options_len,
                    wk_completion_t *c) {
    struct handle *h = (struct handle *)user_data;
    char json[2048], one[512];
    int i;
    (void)options;
    (void)options_len;
    if (reject_if_failing(h, c)) return;
    pthread_mutex_lock(&h->bucket->lock);
    qsort(h->bucket->objects, (size_t)h->bucket->count, sizeof h->bucket->objects[0], by_key);
    snprintf(json, sizeof json, "{\"objects\":[");
    for (i = 0; i < h->bucket->count; i++) {
        object_json(&h->bucket->objects[i], one, sizeof one);
        if (i > 0) strncat(json, ",", sizeof json - strlen(json) - 1);
        strncat(json, one, sizeof json - strlen(json) - 1);
    }
    strncat(json, "],\"delimitedPrefixes\":[],\"truncated\":false}", sizeof json - strlen(json) - 1);
    pthread_mutex_unlock(&h->bucket->lock);
    CHECK(wk_completion_resolve(c, (const uint8_t *)json, strlen(json)) == WK_OK);
}

static void handle_free(void *user_data) {
    free(user_data);
    handles_freed++;
}

static wk_status_t add_bucket(wk_env_t *env, const char *name, struct bucket *b, enum mode m) {
    wk_r2_vtable_t vt;
    struct handle *h = (struct handle *)calloc(1, sizeof *h);
    h->bucket = b;
    h->mode = m;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.head = r2_head;
    vt.get = r2_get;
    vt.put = r2_put;
    vt.remove = r2_remove;
    vt.list = r2_list;
    return wk_env_add_r2(env, name, strlen(name), &vt, h, handle_free, NULL);
}

/* ---- the engine ------------------------------------------------------------------------- */

static struct one_module MODULE = {"r2.js", WORKER};

/* Runs the worker on `path` and checks the response status and body. */
static void expect(wk_engine_t *engine, wk_env_t *env, const char *path, int status,
                   const char *want) {
    expect_get(engine, "r2", env, path, status, want);
}

static void test_bodies_and_helpers(void) {
    wk_body_t *body = NULL;
    wk_error_t *err = NULL;
    uint8_t buf[4];
    size_t n = 0;
    uint64_t offset = 0, length = 0;
    int holds = -1;

    /* A host-written body cannot be read by the host, nor written after close. */
    CHECK(wk_body_new(&body, NULL) == WK_OK);
    CHECK(wk_body_read(body, buf, sizeof buf, &n, &err) == WK_E_INVALID_ARGUMENT);
    wk_error_free(err);
    err = NULL;
    CHECK(wk_body_write(body, (const uint8_t *)"ab", 2, NULL) == WK_OK);
    CHECK(wk_body_close(body, NULL, 0) == WK_OK);
    EXPECT_ERROR(wk_body_write(body, (const uint8_t *)"c", 1, &err),
                 WK_E_INVALID_ARGUMENT, "already closed");
    CHECK(wk_body_close(body, NULL, 0) == WK_E_INVALID_ARGUMENT);
    wk_body_free(body);
    wk_body_free(NULL);
    CHECK(wk_body_new(NULL, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_completion_resolve_r2_body(NULL, S("{}"), NULL) == WK_E_INVALID_ARGUMENT);

    /* Conditionals: a whole options object or a bare conditional. */
    CHECK(wk_r2_conditional_holds(S("{\"onlyIf\":{\"etagMatches\":[\"abc\"]}}"), S("abc"), 0,
                                  &holds, NULL) == WK_OK);
    CHECK(holds == 1);
    CHECK(wk_r2_conditional_holds(S("{\"etagMatches\":[\"abc\"]}"), S("xyz"), 0, &holds, NULL) ==
          WK_OK);
    CHECK(holds == 0);
    CHECK(wk_r2_conditional_holds(S("{\"etagMatches\":[\"*\"]}"), NULL, 0, 0, &holds, NULL) ==
          WK_OK);
    CHECK(holds == 0);
    CHECK(wk_r2_conditional_holds(S("{}"), NULL, 0, 0, &holds, NULL) == WK_OK);
    CHECK(holds == 1);
    CHECK(wk_r2_conditional_holds(S("[1]"), NULL, 0, 0, &holds, &err) == WK_E_INVALID_ARGUMENT);
    wk_error_free(err);
    err = NULL;

    /* Ranges. */
    CHECK(wk_r2_resolve_range(S("{\"range\":{\"suffix\":3}}"), 10, &offset, &length, NULL) ==
          WK_OK);
    CHECK(offset == 7 && length == 3);
    CHECK(wk_r2_resolve_range(S("{}"), 10, &offset, &length, NULL) == WK_OK);
    CHECK(offset == 0 && length == 10);
    EXPECT_ERROR(wk_r2_resolve_range(S("{\"offset\":20}"), 10, &offset, &length, &err),
                 WK_E_REJECTED, "The requested range is not satisfiable (10039)");
}

int main(void) {
    static struct bucket inline_bucket, later_bucket;
    wk_engine_t *engine;
    wk_env_t *env = NULL;
    wk_error_t *err = NULL;
    wk_r2_vtable_t bad;
    char dir[128];
    const char *want =
        "{\"size\":26,\"by\":\"c\",\"text\":\"abcdefghijklmnopqrstuvwxyz\",\"many\":%s,"
        "\"part\":\"uvwxyz\",\"condHasBody\":false,\"refused\":null,\"keys\":[\"j\",\"k\"],"
        "\"jGone\":true}";
    char want_one[512], want_many[512];
    snprintf(want_one, sizeof want_one, want, "false");
    snprintf(want_many, sizeof want_many, want, "true");

    test_bodies_and_helpers();

    engine = start_engine(load_one_module, &MODULE, NULL, 1, 2);
    if (engine == NULL) return summary("r2");

    pthread_mutex_init(&inline_bucket.lock, NULL);
    pthread_mutex_init(&later_bucket.lock, NULL);
    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(add_bucket(env, "INLINE", &inline_bucket, R2_INLINE) == WK_OK);
    CHECK(add_bucket(env, "LATER", &later_bucket, R2_LATER) == WK_OK);
    CHECK(add_bucket(env, "BROKEN", &inline_bucket, R2_FAIL) == WK_OK);
    snprintf(dir, sizeof dir, "/tmp/wk-c-r2-%d", (int)getpid());
    CHECK(wk_env_add_r2_default(env, S("LOCAL"), dir, strlen(dir), NULL) == WK_OK);

    /* A vtable missing a required callback, or with only some multipart ones, is refused. */
    memset(&bad, 0, sizeof bad);
    bad.struct_size = sizeof bad;
    bad.head = r2_head;
    EXPECT_ERROR(wk_env_add_r2(env, S("BAD"), &bad, calloc(1, 1), free, &err),
                 WK_E_INVALID_ARGUMENT, "wk_r2_vtable_t.get is NULL");

    /* Inline: a string put is read inside the callback; the get body is one chunk. */
    expect(engine, env, "/inline", 200, want_one);
    /* From other threads: a streamed put is read there, the get body arrives 3 bytes a time. */
    expect(engine, env, "/later", 200, want_many);
    /* The embedded bucket, through the C ABI (a small object is one chunk). */
    expect(engine, env, "/local", 200, want_one);
    /* A failing store rejects the worker's promise with the host's message. */
    expect(engine, env, "/fail", 500, "Error: head: disk on fire");

    wk_env_free(env);
    CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
    wk_engine_free(engine);
    wait_for_threads();
    CHECK(handles_freed == 3);
    pthread_mutex_destroy(&inline_bucket.lock);
    pthread_mutex_destroy(&later_bucket.lock);
    {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        CHECK(system(cmd) == 0);
    }

    return summary("r2");
}
