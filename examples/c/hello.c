/*
 * hello.c: the smallest libworker host. It serves one worker from a string through a source
 * loader, sends it a GET request, and prints the response's status, headers, body and logs.
 *
 *   make -C examples/c && examples/c/hello
 */
#include <stdio.h>
#include <string.h>

#include "worker.h"

static const char WORKER_JS[] =
    "export default {\n"
    "  async fetch(request, env) {\n"
    "    console.log('serving', request.method, request.url);\n"
    "    const headers = new Headers({ 'content-type': 'text/plain; charset=utf-8' });\n"
    "    headers.append('set-cookie', 'session=1');\n"
    "    headers.append('set-cookie', 'theme=dark');\n"
    "    return new Response(`Hello, ${env.GREETING}!\\n`, { headers });\n"
    "  },\n"
    "};\n";

/* Called by libworker (on its own threads) the first time a (site, deploy) pair is needed. */
static wk_status_t load_worker(void *user_data, const char *site, size_t site_len,
                               const char *deploy, size_t deploy_len, wk_source_t *out) {
    static const char name[] = "worker.js";
    (void)user_data;
    (void)deploy;
    (void)deploy_len;
    if (site_len != 5 || memcmp(site, "hello", 5) != 0) {
        static const char msg[] = "unknown site";
        wk_source_set_error(out, msg, sizeof msg - 1, NULL);
        return WK_E_NOT_FOUND;
    }
    return wk_source_add_module(out, name, sizeof name - 1, WK_MODULE_ESM,
                                (const uint8_t *)WORKER_JS, sizeof WORKER_JS - 1, NULL);
}

static int fail(const char *what, wk_status_t status, wk_error_t *err) {
    fprintf(stderr, "%s failed: %s: %s\n", what, wk_status_name(status),
            err ? wk_error_message(err) : "(no details)");
    wk_error_free(err);
    return 1;
}

int main(void) {
    wk_engine_options_t options;
    wk_source_loader_vtable_t loader;
    wk_engine_t *engine = NULL;
    wk_env_t *env = NULL;
    wk_request_t *request = NULL;
    wk_response_t *response = NULL;
    wk_error_t *err = NULL;
    wk_status_t status;
    const uint8_t *body = NULL;
    size_t body_len = 0, i;
    int rc = 0;

    if (wk_abi_version() != WK_ABI_VERSION) {
        fprintf(stderr, "libworker ABI %u, header ABI %d\n", wk_abi_version(), WK_ABI_VERSION);
        return 1;
    }

    wk_engine_options_init(&options);
    options.pool_size = 1;

    memset(&loader, 0, sizeof loader);
    loader.struct_size = sizeof loader;
    loader.load = load_worker;

    status = wk_engine_new(&options, &loader, NULL, NULL, &engine, &err);
    if (status != WK_OK) return fail("wk_engine_new", status, err);

    if ((status = wk_env_new(&env, &err)) != WK_OK ||
        (status = wk_env_set_var(env, "GREETING", 8, "world", 5, &err)) != WK_OK ||
        (status = wk_request_new("GET", 3, "https://example.com/", 20, &request, &err)) !=
            WK_OK ||
        (status = wk_request_add_header(request, "accept", 6, "text/plain", 10, &err)) !=
            WK_OK) {
        rc = fail("building the request", status, err);
        goto done;
    }

    status = wk_execute(engine, "hello", 5, "v1", 2, env, request, &response, &err);
    if (status != WK_OK) {
        /* The worker failed; the response (status 500) still carries its console output. */
        rc = fail("wk_execute", status, err);
    }

    printf("status: %u %s\n", (unsigned)wk_response_status(response),
           wk_response_status_text(response));
    for (i = 0; i < wk_response_header_count(response); i++) {
        const char *name, *value;
        size_t name_len, value_len;
        wk_response_header_at(response, i, &name, &name_len, &value, &value_len);
        printf("%.*s: %.*s\n", (int)name_len, name, (int)value_len, value);
    }
    wk_response_body(response, &body, &body_len);
    printf("\n%.*s", (int)body_len, (const char *)body);
    for (i = 0; i < wk_response_log_count(response); i++) {
        wk_log_level_t level;
        const char *msg;
        size_t msg_len;
        wk_response_log_at(response, i, &level, &msg, &msg_len);
        fprintf(stderr, "[console %d] %.*s\n", (int)level, (int)msg_len, msg);
    }

done:
    wk_response_free(response);
    wk_request_free(request);
    wk_env_free(env);
    wk_engine_free(engine);
    return rc;
}
