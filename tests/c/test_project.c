/*
 * wk_project_open_with: a wrangler project whose queue consumer reports to the host's observer,
 * the config's warnings, the options' argument checks, and the observer's user_data freed
 * exactly once. Also wk_queue_broker_observe on a broker of the host's own.
 */
#include "check.h"

#include <sys/stat.h>

static const char CONFIG[] =
    "// a project with a queue it produces to and consumes, and a setting libworker ignores\n"
    "{\n"
    "  \"name\": \"proj\",\n"
    "  \"main\": \"worker.js\",\n"
    "  \"triggers\": { \"crons\": [\"* * * * *\"] },\n"
    "  \"queues\": {\n"
    "    \"producers\": [{ \"binding\": \"Q\", \"queue\": \"jobs\" }],\n"
    "    \"consumers\": [{ \"queue\": \"jobs\", \"max_batch_timeout\": 0, \"max_retries\": 0 }]\n"
    "  }\n"
    "}\n";

static const char WORKER[] =
    "export default {\n"
    "  async fetch(req, env) {\n"
    "    await env.Q.sendBatch([{ body: 'good' }, { body: 'bad' }]);\n"
    "    return new Response('sent');\n"
    "  },\n"
    "  async queue(batch) {\n"
    "    console.log('batch of', batch.messages.length);\n"
    "    for (const m of batch.messages) m.body === 'good' ? m.ack() : m.retry();\n"
    "  },\n"
    "};\n";

/* What an observer saw: every event's JSON, one per line, and how often it was freed. */
struct seen {
    pthread_mutex_t lock;
    char events[8192];
    int frees;
};

static void on_event(void *user_data, const char *json, size_t len) {
    struct seen *s = (struct seen *)user_data;
    size_t used;
    pthread_mutex_lock(&s->lock);
    used = strlen(s->events);
    CHECK(json[len] == '\0' && strlen(json) == len);
    if (used + len + 2 < sizeof s->events) {
        memcpy(s->events + used, json, len);
        s->events[used + len] = '\n';
        s->events[used + len + 1] = '\0';
    }
    pthread_mutex_unlock(&s->lock);
}

static void seen_free(void *user_data) {
    struct seen *s = (struct seen *)user_data;
    pthread_mutex_lock(&s->lock);
    s->frees++;
    pthread_mutex_unlock(&s->lock);
}

/* Waits up to 5 s for the observer to have seen `needle`. */
static int saw(struct seen *s, const char *needle) {
    int i, found = 0;
    for (i = 0; i < 100 && !found; i++) {
        pthread_mutex_lock(&s->lock);
        found = contains(s->events, needle);
        pthread_mutex_unlock(&s->lock);
        if (!found) sleep_ms(50);
    }
    if (!found) fprintf(stderr, "no event with %s in:\n%s", needle, s->events);
    return found;
}

static void write_file(const char *dir, const char *name, const char *text) {
    char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    CHECK(f != NULL);
    if (f == NULL) return;
    fputs(text, f);
    fclose(f);
}

static void test_project(wk_engine_t *engine, const char *dir) {
    static struct seen seen;
    wk_project_options_t opts;
    wk_project_t *project = NULL;
    wk_request_t *req = NULL;
    wk_response_t *resp = NULL;
    wk_error_t *err = NULL;
    const char *text = NULL;
    size_t len = 0;
    char config[256], state[256];

    memset(&seen, 0, sizeof seen);
    pthread_mutex_init(&seen.lock, NULL);
    snprintf(config, sizeof config, "%s/wrangler.jsonc", dir);
    snprintf(state, sizeof state, "%s/state", dir);

    CHECK(wk_project_options_init(NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_project_options_init(&opts) == WK_OK);
    CHECK(opts.struct_size == sizeof opts && opts.state_dir == NULL && opts.env == NULL &&
          opts.on_queue_event == NULL);

    /* A bad struct_size fails, and the observer's user_data is freed all the same. */
    opts.struct_size = 4;
    opts.on_queue_event = on_event;
    opts.queue_event_user_data = &seen;
    opts.queue_event_user_data_free = seen_free;
    EXPECT_ERROR(wk_project_open_with(engine, config, strlen(config), &opts, &project, &err),
                 WK_E_INVALID_ARGUMENT, "wk_project_options_t.struct_size is 4");
    CHECK(project == NULL);
    /* Failing after the options were read frees it too. */
    opts.struct_size = sizeof opts;
    EXPECT_ERROR(wk_project_open_with(engine, S("/nonexistent/wrangler.jsonc"), &opts, &project,
                                      &err),
                 WK_E_SCRIPT, "/nonexistent/wrangler.jsonc");
    CHECK(seen.frees == 1);
    seen.frees = 0;

    opts.state_dir = state;
    opts.state_dir_len = strlen(state);
    CHECK(wk_project_open_with(engine, config, strlen(config), &opts, &project, &err) == WK_OK);
    CHECK(err == NULL && project != NULL);
    if (project == NULL) {
        wk_error_free(err);
        return;
    }
    CHECK(strcmp(wk_project_name(project), "proj") == 0);

    /* The ignored setting is a warning. */
    CHECK(wk_project_warning_count(project) == 1);
    CHECK(wk_project_warning_at(project, 0, &text, &len) == WK_OK);
    CHECK(contains(text, "`triggers` is not supported yet") && strlen(text) == len);
    CHECK(wk_project_warning_at(project, 1, &text, &len) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_project_warning_at(NULL, 0, &text, &len) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_project_warning_count(NULL) == 0);

    /* The worker sends two messages; its consumer acks one and retries the other, which has no
     * retries left and is dropped. The observer sees both. */
    CHECK(wk_request_new(S("GET"), S("https://proj.example/send"), &req, NULL) == WK_OK);
    CHECK(wk_project_fetch(project, req, &resp, NULL) == WK_OK);
    CHECK(saw(&seen, "\"type\":\"delivered\""));
    CHECK(saw(&seen, "\"outcomes\":[{\"ack\":true},{\"ack\":false,\"retryDelaySeconds\":null}]"));
    CHECK(saw(&seen, "\"message\":\"batch of 2\""));
    CHECK(saw(&seen, "\"type\":\"dropped\""));
    CHECK(saw(&seen, "\"attempts\":1"));
    CHECK(seen.frees == 0);

    wk_response_free(resp);
    wk_request_free(req);
    wk_project_free(project);
    CHECK(seen.frees == 1);
}

/* A broker of the host's own reports to its observer; replacing the observer or freeing the
 * broker frees the previous user_data once. */
static void test_broker_observer(wk_engine_t *engine, const char *dir) {
    static struct seen first, second;
    wk_queue_broker_t *broker = NULL;
    wk_env_t *env = NULL;
    wk_error_t *err = NULL;
    wk_request_t *req = NULL;
    wk_response_t *resp = NULL;
    wk_queue_consumer_options_t copts;
    char queue[256];

    memset(&first, 0, sizeof first);
    memset(&second, 0, sizeof second);
    pthread_mutex_init(&first.lock, NULL);
    pthread_mutex_init(&second.lock, NULL);
    snprintf(queue, sizeof queue, "%s/own-queue.sqlite", dir);

    CHECK(wk_queue_broker_new(engine, &broker, NULL) == WK_OK);
    EXPECT_ERROR(wk_queue_broker_observe(broker, NULL, &first, seen_free, &err),
                 WK_E_INVALID_ARGUMENT, "on_event is NULL");
    CHECK(first.frees == 1);
    first.frees = 0;
    CHECK(wk_queue_broker_observe(NULL, on_event, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_queue_broker_observe(broker, on_event, &first, seen_free, NULL) == WK_OK);
    CHECK(wk_queue_broker_observe(broker, on_event, &second, seen_free, NULL) == WK_OK);
    CHECK(first.frees == 1);

    CHECK(wk_env_new(&env, NULL) == WK_OK);
    CHECK(wk_env_add_queue_default(env, S("Q"), queue, strlen(queue), NULL) == WK_OK);
    CHECK(wk_queue_consumer_options_init(&copts) == WK_OK);
    copts.max_batch_timeout_seconds = 0;
    copts.max_retries = 0;
    CHECK(wk_queue_broker_consume(broker, S("own"), queue, strlen(queue), S("proj"),
                                  S("local"), env, &copts, NULL, 0, NULL, 0, NULL) == WK_OK);
    CHECK(wk_request_new(S("GET"), S("https://proj.example/send"), &req, NULL) == WK_OK);
    CHECK(wk_execute(engine, S("proj"), S("local"), env, req, &resp, NULL) == WK_OK);
    CHECK(saw(&second, "\"type\":\"delivered\""));
    CHECK(saw(&second, "\"queue\":\"own\""));
    CHECK(saw(&second, "\"type\":\"dropped\""));
    CHECK(!contains(first.events, "own"));

    wk_response_free(resp);
    wk_request_free(req);
    wk_env_free(env);
    wk_queue_broker_free(broker);
    CHECK(second.frees == 1 && first.frees == 1);
}

int main(void) {
    wk_engine_options_t opts;
    wk_engine_t *engine = NULL;
    char dir[128], cleanup[256];

    snprintf(dir, sizeof dir, "/tmp/wk-c-project-%d", (int)getpid());
    CHECK(mkdir(dir, 0700) == 0);
    write_file(dir, "wrangler.jsonc", CONFIG);
    write_file(dir, "worker.js", WORKER);

    wk_engine_options_init(&opts);
    opts.pool_size = 1;
    opts.warm_isolates = 1;
    CHECK(wk_engine_new(&opts, NULL, NULL, NULL, &engine, NULL) == WK_OK);
    if (engine != NULL) {
        test_project(engine, dir);
        test_broker_observer(engine, dir);
        CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
        wk_engine_free(engine);
    }
    snprintf(cleanup, sizeof cleanup, "rm -rf '%s'", dir);
    CHECK(system(cleanup) == 0);
    return summary("project");
}
