/*
 * Queues through the C ABI (strict C99 + pthreads, run under AddressSanitizer or valgrind):
 * producers implemented in C that answer inline, from another thread after the callback
 * returned, and by failing; the embedded SQLite queue; and batches delivered from C to a
 * worker's queue() handler with the per-message outcomes read back.
 */
#include "check.h"

static const char WORKER[] =
    "let seen = [];\n"
    "export default {\n"
    "  async fetch(req, env) {\n"
    "    const out = {};\n"
    "    out.inline = (await env.INLINE.send({ n: 1 })).metadata.metrics;\n"
    "    await env.INLINE.send('t', { contentType: 'text', delaySeconds: 3 });\n"
    "    await env.INLINE.send({ m: new Map([[1, 'x']]) }, { contentType: 'v8' });\n"
    "    out.later = (await env.LATER.sendBatch([{ body: 'a', contentType: 'text' },\n"
    "                                            { body: new Uint8Array([7]), contentType: 'bytes' }])\n"
    "                ).metadata.metrics;\n"
    "    try { await env.BROKEN.send(1); out.broken = 'resolved'; }\n"
    "    catch (e) { out.broken = `${e.name}: ${e.message}`; }\n"
    "    await env.LOCAL.send('kept');\n"
    "    out.local = await env.LOCAL.metrics();\n"
    "    out.seen = seen;\n"
    "    return Response.json(out);\n"
    "  },\n"
    "  async queue(batch, env, ctx) {\n"
    "    for (const m of batch.messages) {\n"
    "      const body = m.body instanceof ArrayBuffer ? [...new Uint8Array(m.body)]\n"
    "                 : m.body && m.body.m instanceof Map ? m.body.m.get(1) : m.body;\n"
    "      seen.push(`${batch.queue}:${m.id}:${JSON.stringify(body)}:${m.attempts}`);\n"
    "      console.log(`got ${m.id} at ${m.timestamp.getTime()}`);\n"
    "      if (m.id === 'a') m.ack();\n"
    "      if (m.id === 'b') m.retry({ delaySeconds: 7 });\n"
    "    }\n"
    "    if (batch.queue === 'explode') throw new RangeError('consumer gave up');\n"
    "  },\n"
    "};\n";

static struct one_module MODULE = {"queue.js", WORKER};

/* ---- A queue producer in C ---- */

#define MAX_SENT 16

struct sent_message {
    uint8_t body[64];
    size_t len;
    wk_queue_content_type_t type;
    int64_t delay;
};

struct queue_store {
    pthread_mutex_t lock;
    struct sent_message sent[MAX_SENT];
    size_t count;
};

enum queue_mode { Q_INLINE, Q_LATER, Q_FAIL };

struct queue_handle {
    struct queue_store *store;
    enum queue_mode mode;
    int *freed;
};

static int queues_freed;

/* Copies the messages (they are borrowed for the call) and returns the backlog as JSON. */
static void record(struct queue_store *store, const wk_queue_message_t *messages, size_t count,
                   char *json, size_t json_size) {
    size_t i;
    pthread_mutex_lock(&store->lock);
    for (i = 0; i < count && store->count < MAX_SENT; i++) {
        struct sent_message *m = &store->sent[store->count++];
        m->len = messages[i].body_len < sizeof m->body ? messages[i].body_len : sizeof m->body;
        if (m->len > 0) memcpy(m->body, messages[i].body, m->len);
        m->type = messages[i].content_type;
        m->delay = messages[i].delay_seconds;
    }
    snprintf(json, json_size, "{\"backlogCount\":%u,\"backlogBytes\":%u}",
             (unsigned)store->count, (unsigned)(store->count * 10));
    pthread_mutex_unlock(&store->lock);
}

struct later {
    wk_completion_t *completion;
    char json[128];
};

static void *answer_later(void *arg) {
    struct later *l = (struct later *)arg;
    sleep_ms(5);
    wk_completion_resolve(l->completion, (const uint8_t *)l->json, strlen(l->json));
    free(l);
    done_later();
    return NULL;
}

static void queue_send(void *user_data, const wk_queue_message_t *messages, size_t count,
                       wk_completion_t *completion) {
    struct queue_handle *h = (struct queue_handle *)user_data;
    char json[128];
    struct later *l;
    if (h->mode == Q_FAIL) {
        wk_completion_reject(completion, S("queue is full"));
        return;
    }
    record(h->store, messages, count, json, sizeof json);
    if (h->mode == Q_INLINE) {
        wk_completion_resolve(completion, (const uint8_t *)json, strlen(json));
        return;
    }
    /* Answer from another thread after this callback has returned. */
    l = (struct later *)calloc(1, sizeof *l);
    l->completion = completion;
    memcpy(l->json, json, sizeof json);
    if (run_later(answer_later, l) != 0) {
        wk_completion_reject(completion, S("no thread"));
        free(l);
    }
}

static void queue_handle_free(void *user_data) {
    struct queue_handle *h = (struct queue_handle *)user_data;
    (*h->freed)++;
    free(h);
}

static wk_status_t add_queue(wk_env_t *env, const char *name, struct queue_store *store,
                             enum queue_mode mode) {
    wk_queue_vtable_t vt;
    struct queue_handle *h = (struct queue_handle *)calloc(1, sizeof *h);
    h->store = store;
    h->mode = mode;
    h->freed = &queues_freed;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.send = queue_send;
    return wk_env_add_queue(env, name, strlen(name), &vt, h, queue_handle_free, NULL);
}

static void test_producers(wk_engine_t *engine, wk_env_t *env, struct queue_store *store) {
    wk_request_t *req = make_request("GET", "https://example.com/");
    wk_response_t *resp = NULL;
    wk_error_t *err = NULL;
    const uint8_t *body;
    size_t len;
    const char *want =
        "{\"inline\":{\"backlogCount\":1,\"backlogBytes\":10},"
        "\"later\":{\"backlogCount\":5,\"backlogBytes\":50},"
        "\"broken\":\"Error: Queue send failed: queue is full\","
        "\"local\":{\"backlogCount\":1,\"backlogBytes\":6,";

    CHECK(wk_execute(engine, S("q"), S("v1"), env, req, &resp, &err) == WK_OK);
    CHECK(err == NULL);
    CHECK(wk_response_body(resp, &body, &len) == WK_OK);
    CHECK(len > strlen(want) && memcmp(body, want, strlen(want)) == 0);
    if (len <= strlen(want) || memcmp(body, want, strlen(want)) != 0)
        fprintf(stderr, "producer body: %.*s\n", (int)len, (const char *)body);
    wk_response_free(resp);
    wk_request_free(req);

    pthread_mutex_lock(&store->lock);
    CHECK(store->count == 5);
    CHECK(store->sent[0].type == WK_QUEUE_CONTENT_JSON && store->sent[0].len == 7 &&
          memcmp(store->sent[0].body, "{\"n\":1}", 7) == 0 && store->sent[0].delay == -1);
    CHECK(store->sent[1].type == WK_QUEUE_CONTENT_TEXT && store->sent[1].delay == 3);
    CHECK(store->sent[2].type == WK_QUEUE_CONTENT_V8 && store->sent[2].len > 0);
    CHECK(store->sent[3].type == WK_QUEUE_CONTENT_TEXT && store->sent[3].len == 1);
    CHECK(store->sent[4].type == WK_QUEUE_CONTENT_BYTES && store->sent[4].len == 1 &&
          store->sent[4].body[0] == 7);
    pthread_mutex_unlock(&store->lock);
}

static void test_delivery(wk_engine_t *engine, wk_env_t *env, struct queue_store *store) {
    wk_queue_batch_t *batch = NULL;
    wk_queue_result_t *result = NULL;
    wk_error_t *err = NULL;
    int64_t delay = 99;
    wk_log_level_t level = -1;
    const char *msg = NULL;
    size_t msg_len = 0;

    CHECK(wk_queue_batch_new(S("jobs"), &batch, NULL) == WK_OK);
    CHECK(wk_queue_batch_add(batch, S("a"), 1000, (const uint8_t *)"{\"k\":1}", 7,
                             WK_QUEUE_CONTENT_JSON, 1, NULL) == WK_OK);
    CHECK(wk_queue_batch_add(batch, S("b"), 2000, (const uint8_t *)"hi", 2,
                             WK_QUEUE_CONTENT_TEXT, 2, NULL) == WK_OK);
    /* The v8 bytes the worker sent through INLINE come back as the original value. */
    pthread_mutex_lock(&store->lock);
    CHECK(wk_queue_batch_add(batch, S("c"), 3000, store->sent[2].body, store->sent[2].len,
                             WK_QUEUE_CONTENT_V8, 1, NULL) == WK_OK);
    pthread_mutex_unlock(&store->lock);
    EXPECT_ERROR(wk_queue_batch_add(batch, S("d"), 4000, NULL, 0, 42, 1, &err),
                 WK_E_INVALID_ARGUMENT, "unknown queue content type 42");

    CHECK(wk_execute_queue(engine, S("q"), S("v1"), env, batch, &result, &err) == WK_OK);
    CHECK(err == NULL);
    CHECK(wk_queue_result_count(result) == 3);
    CHECK(wk_queue_result_outcome(result, 0, &delay) == WK_QUEUE_ACK && delay == 0);
    CHECK(wk_queue_result_outcome(result, 1, &delay) == WK_QUEUE_RETRY && delay == 7);
    /* Neither acked nor retried, by a handler that returned: acked. */
    CHECK(wk_queue_result_outcome(result, 2, NULL) == WK_QUEUE_ACK);
    CHECK(wk_queue_result_outcome(result, 3, NULL) == 0);
    CHECK(wk_queue_result_log_count(result) == 3);
    CHECK(wk_queue_result_log_at(result, 1, &level, &msg, &msg_len) == WK_OK);
    CHECK(level == WK_LOG_LOG && msg != NULL && strcmp(msg, "got b at 2000") == 0 &&
          msg_len == strlen(msg));
    CHECK(wk_queue_result_log_at(result, 3, NULL, NULL, NULL) == WK_E_NOT_FOUND);
    wk_queue_result_free(result);
    result = NULL;
    wk_queue_batch_free(batch);

    /* A handler that throws: the error comes back, explicit acks stay, the rest are retried. */
    CHECK(wk_queue_batch_new(S("explode"), &batch, NULL) == WK_OK);
    CHECK(wk_queue_batch_add(batch, S("a"), 1, (const uint8_t *)"1", 1, WK_QUEUE_CONTENT_JSON,
                             1, NULL) == WK_OK);
    CHECK(wk_queue_batch_add(batch, S("z"), 1, (const uint8_t *)"2", 1, WK_QUEUE_CONTENT_JSON,
                             1, NULL) == WK_OK);
    CHECK(wk_execute_queue(engine, S("q"), S("v1"), env, batch, &result, &err) ==
          WK_E_EXCEPTION);
    CHECK(err != NULL && strcmp(wk_error_message(err), "consumer gave up") == 0);
    CHECK(err != NULL && strcmp(wk_error_name(err), "RangeError") == 0);
    CHECK(result != NULL && wk_queue_result_count(result) == 2);
    CHECK(wk_queue_result_outcome(result, 0, &delay) == WK_QUEUE_ACK);
    CHECK(wk_queue_result_outcome(result, 1, &delay) == WK_QUEUE_RETRY && delay == -1);
    wk_error_free(err);
    wk_queue_result_free(result);
    wk_queue_batch_free(batch);
}

static void test_bad_inputs(wk_env_t *env) {
    wk_queue_vtable_t vt;
    wk_error_t *err = NULL;
    wk_queue_batch_t *batch = NULL;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    EXPECT_ERROR(wk_env_add_queue(env, S("BAD"), &vt, calloc(1, 1), free, &err),
                 WK_E_INVALID_ARGUMENT, "wk_queue_vtable_t.send is NULL");
    vt.send = queue_send;
    vt.struct_size = 4;
    CHECK(wk_env_add_queue(env, S("BAD"), &vt, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_queue_batch_new(NULL, 3, &batch, NULL) == WK_E_INVALID_ARGUMENT && batch == NULL);
    CHECK(wk_execute_queue(NULL, S("q"), S("v1"), NULL, NULL, NULL, NULL) ==
          WK_E_INVALID_ARGUMENT);
    CHECK(wk_queue_result_count(NULL) == 0);
    CHECK(wk_queue_result_outcome(NULL, 0, NULL) == 0);
    wk_queue_batch_free(NULL);
    wk_queue_result_free(NULL);
}

/* ---- The embedded broker: a worker's queue() handler fed from an embedded queue ---- */

static const char BROKER_WORKER[] =
    "export default {\n"
    "  async fetch(req, env) {\n"
    "    if (new URL(req.url).pathname === '/send') {\n"
    "      await env.Q.sendBatch([{ body: { k: 'one' } }, { body: { k: 'two' } },\n"
    "                             { body: { k: 'bad' } }]);\n"
    "      return new Response('sent');\n"
    "    }\n"
    "    const got = [];\n"
    "    for (const k of ['one', 'two', 'bad']) got.push(`${k}=${await env.KV.get(k)}`);\n"
    "    return new Response(`${got.join(',')} dlq=${(await env.DLQ.metrics()).backlogCount}`);\n"
    "  },\n"
    "  async queue(batch, env) {\n"
    "    for (const m of batch.messages) {\n"
    "      await env.KV.put(m.body.k, `${batch.queue}:${m.attempts}`);\n"
    "      if (m.body.k === 'bad') m.retry(); else m.ack();\n"
    "    }\n"
    "  },\n"
    "};\n";

static wk_status_t broker_load(void *user_data, const char *site, size_t site_len,
                               const char *deploy, size_t deploy_len, wk_source_t *out) {
    (void)user_data;
    (void)site;
    (void)site_len;
    (void)deploy;
    (void)deploy_len;
    if (wk_source_add_module(out, S("broker.js"), WK_MODULE_ESM, (const uint8_t *)BROKER_WORKER,
                             sizeof BROKER_WORKER - 1, NULL) != WK_OK)
        return WK_E_INTERNAL;
    return wk_source_set_main(out, S("broker.js"), NULL);
}

/* GETs `url` from worker (b, v1); the body, NUL-terminated, goes to out. */
static void broker_fetch(wk_engine_t *engine, wk_env_t *env, const char *url, char *out,
                         size_t out_size) {
    wk_request_t *req = NULL;
    wk_response_t *resp = NULL;
    const uint8_t *body = NULL;
    size_t len = 0;
    out[0] = '\0';
    CHECK(wk_request_new(S("GET"), url, strlen(url), &req, NULL) == WK_OK);
    CHECK(wk_execute(engine, S("b"), S("v1"), env, req, &resp, NULL) == WK_OK);
    if (wk_response_body(resp, &body, &len) == WK_OK) {
        if (len >= out_size) len = out_size - 1;
        memcpy(out, body, len);
        out[len] = '\0';
    }
    wk_response_free(resp);
    wk_request_free(req);
}

static void test_broker(void) {
    wk_engine_options_t opts;
    wk_source_loader_vtable_t vt;
    wk_queue_consumer_options_t copts;
    wk_engine_t *engine = NULL;
    wk_env_t *env = NULL;
    wk_queue_broker_t *broker = NULL, *late = NULL;
    wk_error_t *err = NULL;
    char jobs[128], dlq[128], kv[128], other[128], got[256];
    const char *want = "one=jobs:1,two=jobs:1,bad=jobs:2 dlq=1";
    struct timespec pause = {0, 50 * 1000 * 1000};
    int i;

    snprintf(jobs, sizeof jobs, "/tmp/wk-c-queue-%d/broker-jobs.sqlite", (int)getpid());
    snprintf(dlq, sizeof dlq, "/tmp/wk-c-queue-%d/broker-dlq.sqlite", (int)getpid());
    snprintf(kv, sizeof kv, "/tmp/wk-c-queue-%d/broker-kv.sqlite", (int)getpid());
    snprintf(other, sizeof other, "/tmp/wk-c-queue-%d/broker-other.sqlite", (int)getpid());

    wk_engine_options_init(&opts);
    opts.pool_size = 1;
    opts.warm_isolates = 1;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.load = broker_load;
    CHECK(wk_engine_new(&opts, &vt, NULL, NULL, &engine, NULL) == WK_OK);
    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(wk_env_add_queue_default(env, S("Q"), jobs, strlen(jobs), NULL) == WK_OK);
    CHECK(wk_env_add_queue_default(env, S("DLQ"), dlq, strlen(dlq), NULL) == WK_OK);
    CHECK(wk_env_add_kv_default(env, S("KV"), kv, strlen(kv), NULL) == WK_OK);

    CHECK(wk_queue_consumer_options_init(NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_queue_consumer_options_init(&copts) == WK_OK);
    CHECK(copts.struct_size == sizeof copts && copts.max_batch_size == 10 &&
          copts.max_batch_timeout_seconds == 5.0 && copts.max_retries == 3 &&
          copts.retry_delay_seconds == 0);
    CHECK(wk_queue_broker_new(NULL, &broker, NULL) == WK_E_INVALID_ARGUMENT && broker == NULL);
    CHECK(wk_queue_broker_new(engine, &broker, NULL) == WK_OK && broker != NULL);

    /* Bad inputs. */
    CHECK(wk_queue_broker_consume(NULL, S("jobs"), jobs, strlen(jobs), S("b"), S("v1"), env,
                                  NULL, NULL, 0, NULL, 0, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_queue_broker_consume(broker, S("j\xff"), jobs, strlen(jobs), S("b"), S("v1"), env,
                                  NULL, NULL, 0, NULL, 0, &err) == WK_E_INVALID_ARGUMENT);
    CHECK(contains(wk_error_message(err), "queue_name is not valid UTF-8"));
    wk_error_free(err);
    err = NULL;
    copts.struct_size = 4;
    CHECK(wk_queue_broker_consume(broker, S("jobs"), jobs, strlen(jobs), S("b"), S("v1"), env,
                                  &copts, NULL, 0, NULL, 0, &err) == WK_E_INVALID_ARGUMENT);
    CHECK(contains(wk_error_message(err), "wk_queue_consumer_options_t.struct_size is 4"));
    wk_error_free(err);
    err = NULL;
    copts.struct_size = sizeof copts;
    CHECK(wk_queue_broker_consume(broker, S("jobs"), jobs, strlen(jobs), S("b"), S("v1"), env,
                                  &copts, S("dead"), NULL, 0, NULL) == WK_E_INVALID_ARGUMENT);

    /* Deliver at once; "bad" is retried once, then dead-lettered. */
    copts.max_batch_timeout_seconds = 0;
    copts.max_retries = 1;
    CHECK(wk_queue_broker_consume(broker, S("jobs"), jobs, strlen(jobs), S("b"), S("v1"), env,
                                  &copts, S("dead"), dlq, strlen(dlq), &err) == WK_OK);
    CHECK(err == NULL);
    broker_fetch(engine, env, "https://example.com/send", got, sizeof got);
    CHECK(strcmp(got, "sent") == 0);
    for (i = 0; i < 100; i++) { /* up to 5 s */
        broker_fetch(engine, env, "https://example.com/check", got, sizeof got);
        if (strcmp(got, want) == 0) break;
        nanosleep(&pause, NULL);
    }
    CHECK(strcmp(got, want) == 0);
    if (strcmp(got, want) != 0) fprintf(stderr, "broker saw: %s\n", got);

    /* A second broker freed after its engine: its batches just stay queued. */
    CHECK(wk_queue_broker_new(engine, &late, NULL) == WK_OK);
    CHECK(wk_queue_broker_consume(late, S("other"), other, strlen(other), S("b"), S("v1"), NULL,
                                  NULL, NULL, 0, NULL, 0, NULL) == WK_OK);

    wk_queue_broker_free(broker);
    wk_queue_broker_free(NULL);
    wk_env_free(env);
    wk_engine_free(engine);
    wk_queue_broker_free(late);
    unlink(jobs);
    unlink(dlq);
    unlink(kv);
    unlink(other);
}

int main(void) {
    static struct queue_store store;
    wk_engine_t *engine;
    wk_env_t *env = NULL;
    char path[128];

    memset(&store, 0, sizeof store);
    pthread_mutex_init(&store.lock, NULL);
    engine = start_engine(load_one_module, &MODULE, NULL, 1, 1);
    if (engine == NULL) return summary("queue");

    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(add_queue(env, "INLINE", &store, Q_INLINE) == WK_OK);
    CHECK(add_queue(env, "LATER", &store, Q_LATER) == WK_OK);
    CHECK(add_queue(env, "BROKEN", &store, Q_FAIL) == WK_OK);
    snprintf(path, sizeof path, "/tmp/wk-c-queue-%d/local.sqlite", (int)getpid());
    CHECK(wk_env_add_queue_default(env, S("LOCAL"), path, strlen(path), NULL) == WK_OK);
    test_bad_inputs(env);

    test_producers(engine, env, &store);
    test_delivery(engine, env, &store);
    test_broker();

    wk_env_free(env);
    CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
    wk_engine_free(engine);
    /* The senders are freed once the worker that saw them is gone (BAD's on refusal). */
    CHECK(queues_freed == 3);
    wait_for_threads();
    pthread_mutex_destroy(&store.lock);
    unlink(path);

    return summary("queue");
}
