/* glue.h: C helpers of the Go package. The Go side cannot name its exported functions as C
 * function pointers with the header's const-qualified signatures, so glue.c holds one
 * trampoline per callback and the vtables that point to them. Host objects travel as cgo.Handle
 * values in user_data. */
#ifndef WORKER_GO_GLUE_H
#define WORKER_GO_GLUE_H

#include <stdint.h>
#include <stdlib.h>

#include "worker.h"

wk_status_t wkgo_engine_new(const wk_engine_options_t *options, uintptr_t loader,
                            wk_engine_t **out, wk_error_t **err);
wk_status_t wkgo_env_add_kv(wk_env_t *env, const char *name, size_t name_len, uintptr_t store,
                            wk_error_t **err);
wk_status_t wkgo_env_set_cache(wk_env_t *env, uintptr_t store, wk_error_t **err);
wk_status_t wkgo_env_add_r2(wk_env_t *env, const char *name, size_t name_len, uintptr_t store,
                            int multipart, wk_error_t **err);
wk_status_t wkgo_env_add_d1(wk_env_t *env, const char *name, size_t name_len, uintptr_t db,
                            wk_error_t **err);
wk_status_t wkgo_env_add_queue(wk_env_t *env, const char *name, size_t name_len, uintptr_t q,
                               int metrics, wk_error_t **err);
wk_status_t wkgo_env_add_assets(wk_env_t *env, const char *name, size_t name_len,
                                uintptr_t assets, wk_error_t **err);

/* Queue events reach the Go function held by `observer` (a cgo.Handle; 0: none). */
wk_status_t wkgo_project_open(const wk_engine_t *engine, const char *path, size_t path_len,
                              const char *state_dir, size_t state_dir_len, const wk_env_t *env,
                              uintptr_t observer, wk_project_t **out, wk_error_t **err);
wk_status_t wkgo_queue_broker_observe(const wk_queue_broker_t *broker, uintptr_t observer,
                                      wk_error_t **err);

/* One response read in a single call: the Go side crosses into C once per response instead of
 * once per accessor. */
typedef struct {
    uint16_t status;
    const char *status_text;
    size_t header_count;
    size_t log_count;
    const uint8_t *body;
    size_t body_len;
    uint64_t duration_us;
    bool pass_through;
} wkgo_response_info_t;

void wkgo_response_info(const wk_response_t *resp, wkgo_response_info_t *out);

#endif
