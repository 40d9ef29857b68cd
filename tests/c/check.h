/*
 * What the C tests in this folder share: the pass/fail counters and CHECK, the small string
 * helpers, a counted thread for answering a completion after the callback returned, starting an
 * engine (optionally on a one-module worker), running GET requests, and the summary line.
 *
 * Include it first (it sets _POSIX_C_SOURCE before any system header), once per program: it
 * defines the program's counters. Strict C99 (and valid C++), warning-free with -Wall -Wextra.
 */
#ifndef WK_TESTS_C_CHECK_H
#define WK_TESTS_C_CHECK_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A string literal as the (pointer, length) pair the C ABI takes. */
#define S(lit) lit, (sizeof lit - 1)

static inline int contains(const char *haystack, const char *needle) {
    return haystack != NULL && strstr(haystack, needle) != NULL;
}

/* Checks the status, that an error came back with `needle` in its message, and frees it. */
static inline void check_error_at(const char *file, int line, wk_status_t got, wk_status_t want,
                                  wk_error_t *err, const char *needle) {
    int ok = got == want && err != NULL && wk_error_code(err) == want &&
             contains(wk_error_message(err), needle);
    if (ok) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "%s:%d: wanted %s with \"%s\", got %s: %s\n", file, line,
                wk_status_name(want), needle, wk_status_name(got),
                err != NULL ? wk_error_message(err) : "(no error)");
    }
    wk_error_free(err);
}

/* Runs `call` (which fills the local `err`), then checks its status and error message. */
#define EXPECT_ERROR(call, want, needle)                                  \
    do {                                                                  \
        wk_status_t status_ = (call);                                     \
        check_error_at(__FILE__, __LINE__, status_, (want), err, (needle)); \
        err = NULL;                                                       \
    } while (0)

static inline void sleep_ms(long ms) {
    struct timespec t;
    t.tv_sec = ms / 1000;
    t.tv_nsec = (ms % 1000) * 1000 * 1000;
    nanosleep(&t, NULL);
}

/* ---- answering later, from a thread of its own ------------------------------------------ */

/* Threads started by run_later that have not yet called done_later. */
static int threads_running;

/* Runs `f(arg)` on a detached thread of its own, counted so the test can wait for them all;
 * `f` calls done_later() last. Returns 0 if the thread started; otherwise the caller still
 * owns `arg` (and the completion in it). */
static inline int run_later(void *(*f)(void *), void *arg) {
    pthread_t t;
    __atomic_add_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&t, NULL, f, arg) != 0) {
        __atomic_sub_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
        return -1;
    }
    pthread_detach(t);
    return 0;
}

static inline void done_later(void) {
    __atomic_sub_fetch(&threads_running, 1, __ATOMIC_SEQ_CST);
}

/* Waits until every thread run_later started has finished. */
static inline void wait_for_threads(void) {
    while (__atomic_load_n(&threads_running, __ATOMIC_SEQ_CST) > 0) sleep_ms(5);
}

/* ---- the engine and its requests -------------------------------------------------------- */

/* A worker of one ES module, for load_one_module (pass a pointer to it as the user data). */
struct one_module {
    const char *name;
    const char *source;
};

static inline wk_status_t load_one_module(void *user_data, const char *site, size_t site_len,
                                          const char *deploy, size_t deploy_len,
                                          wk_source_t *out) {
    const struct one_module *m = (const struct one_module *)user_data;
    (void)site;
    (void)site_len;
    (void)deploy;
    (void)deploy_len;
    if (wk_source_add_module(out, m->name, strlen(m->name), WK_MODULE_ESM,
                             (const uint8_t *)m->source, strlen(m->source), NULL) != WK_OK)
        return WK_E_INTERNAL;
    return wk_source_set_main(out, m->name, strlen(m->name), NULL);
}

/* An engine with `pool_size` executors keeping `warm_isolates` blank isolates, loading workers
 * with `load`; NULL (counted as a failure, with the reason printed) if it cannot start. */
static inline wk_engine_t *start_engine(wk_source_load_cb load, void *user_data,
                                        wk_user_data_free_cb free_user_data, uint32_t pool_size,
                                        uint32_t warm_isolates) {
    wk_engine_options_t opts;
    wk_source_loader_vtable_t vt;
    wk_engine_t *engine = NULL;
    wk_error_t *err = NULL;
    wk_engine_options_init(&opts);
    opts.pool_size = pool_size;
    opts.warm_isolates = warm_isolates;
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.load = load;
    if (wk_engine_new(&opts, &vt, user_data, free_user_data, &engine, &err) != WK_OK) {
        failed++;
        fprintf(stderr, "wk_engine_new: %s\n", wk_error_message(err));
        wk_error_free(err);
        return NULL;
    }
    return engine;
}

static inline wk_request_t *make_request(const char *method, const char *url) {
    wk_request_t *req = NULL;
    if (wk_request_new(method, strlen(method), url, strlen(url), &req, NULL) != WK_OK) abort();
    return req;
}

/* Runs GET https://example.com<path> as `site` with `env`; returns the status (-1 if
 * wk_execute fails, with the reason printed) and copies the body, NUL-terminated and cut to
 * `cap`, into `out`. */
static inline int run_get(wk_engine_t *engine, const char *site, wk_env_t *env, const char *path,
                          char *out, size_t cap) {
    wk_request_t *req;
    wk_response_t *resp = NULL;
    wk_error_t *err = NULL;
    const uint8_t *body = NULL;
    size_t len = 0;
    char url[256];
    int status;
    snprintf(url, sizeof url, "https://example.com%s", path);
    req = make_request("GET", url);
    out[0] = '\0';
    if (wk_execute(engine, site, strlen(site), S("v1"), env, req, &resp, &err) != WK_OK) {
        fprintf(stderr, "wk_execute %s %s: %s\n", site, path, wk_error_message(err));
        wk_error_free(err);
        wk_response_free(resp);
        wk_request_free(req);
        return -1;
    }
    status = (int)wk_response_status(resp);
    CHECK(wk_response_body(resp, &body, &len) == WK_OK);
    if (len >= cap) len = cap - 1;
    if (len > 0) memcpy(out, body, len);
    out[len] = '\0';
    wk_response_free(resp);
    wk_request_free(req);
    return status;
}

/* Runs GET `path` as `site` and checks the status and that the body is exactly `want`. */
static inline void expect_get(wk_engine_t *engine, const char *site, wk_env_t *env,
                              const char *path, int status, const char *want) {
    char body[4096];
    int got = run_get(engine, site, env, path, body, sizeof body);
    if (got == status && strcmp(body, want) == 0) {
        passed++;
    } else {
        failed++;
        fprintf(stderr, "%s %s: got %d %s\n  want %d %s\n", site, path, got, body, status, want);
    }
}

/* Prints the summary line ("c <what>: N passed, M failed"); returns the exit status. */
static inline int summary(const char *what) {
    printf("c %s: %d passed, %d failed\n", what, passed, failed);
    return failed == 0 ? 0 : 1;
}

#endif
