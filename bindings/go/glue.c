/* glue.c: trampolines from libworker's vtables to the Go package's exported functions. Each one
 * only converts user_data (a cgo.Handle) and drops const: the Go functions never write through
 * the pointers they are given. */
#include "glue.h"

#include "_cgo_export.h"

#define H(ud) ((uintptr_t)(ud))

static void free_handle(void *ud) { wkgoHandleFree(H(ud)); }

/* ---- source loader ---- */

static wk_status_t load(void *ud, const char *site, size_t site_len, const char *deploy,
                        size_t deploy_len, wk_source_t *out) {
    return wkgoSourceLoad(H(ud), (char *)site, site_len, (char *)deploy, deploy_len, out);
}

wk_status_t wkgo_engine_new(const wk_engine_options_t *options, uintptr_t loader,
                            wk_engine_t **out, wk_error_t **err) {
    wk_source_loader_vtable_t vt = {sizeof vt, load};
    if (loader == 0) return wk_engine_new(options, NULL, NULL, NULL, out, err);
    return wk_engine_new(options, &vt, (void *)loader, free_handle, out, err);
}

/* ---- KV ---- */

static void kv_get(void *ud, const char *key, size_t key_len, wk_completion_t *c) {
    wkgoKVGet(H(ud), (char *)key, key_len, c);
}

static void kv_put(void *ud, const char *key, size_t key_len, const uint8_t *value,
                   size_t value_len, const char *metadata, size_t metadata_len,
                   uint64_t expiration, wk_completion_t *c) {
    wkgoKVPut(H(ud), (char *)key, key_len, (uint8_t *)value, value_len, (char *)metadata,
              metadata_len, expiration, c);
}

static void kv_delete(void *ud, const char *key, size_t key_len, wk_completion_t *c) {
    wkgoKVDelete(H(ud), (char *)key, key_len, c);
}

static void kv_list(void *ud, const char *prefix, size_t prefix_len, uint32_t limit,
                    const char *cursor, size_t cursor_len, wk_completion_t *c) {
    wkgoKVList(H(ud), (char *)prefix, prefix_len, limit, (char *)cursor, cursor_len, c);
}

wk_status_t wkgo_env_add_kv(wk_env_t *env, const char *name, size_t name_len, uintptr_t store,
                            wk_error_t **err) {
    wk_kv_vtable_t vt = {sizeof vt, kv_get, kv_put, kv_delete, kv_list};
    return wk_env_add_kv(env, name, name_len, &vt, (void *)store, free_handle, err);
}

/* ---- Cache ---- */

static void cache_get(void *ud, const char *cache, size_t cache_len, const char *url,
                      size_t url_len, wk_completion_t *c) {
    wkgoCacheGet(H(ud), (char *)cache, cache_len, (char *)url, url_len, c);
}

static void cache_put(void *ud, const char *cache, size_t cache_len, const char *url,
                      size_t url_len, uint16_t status, const char *headers, size_t headers_len,
                      const uint8_t *body, size_t body_len, uint64_t expires_at,
                      wk_completion_t *c) {
    wkgoCachePut(H(ud), (char *)cache, cache_len, (char *)url, url_len, status, (char *)headers,
                 headers_len, (uint8_t *)body, body_len, expires_at, c);
}

static void cache_delete(void *ud, const char *cache, size_t cache_len, const char *url,
                         size_t url_len, wk_completion_t *c) {
    wkgoCacheDelete(H(ud), (char *)cache, cache_len, (char *)url, url_len, c);
}

wk_status_t wkgo_env_set_cache(wk_env_t *env, uintptr_t store, wk_error_t **err) {
    wk_cache_vtable_t vt = {sizeof vt, cache_get, cache_put, cache_delete};
    return wk_env_set_cache(env, &vt, (void *)store, free_handle, err);
}

/* ---- R2 ---- */

static void r2_head(void *ud, const char *key, size_t key_len, wk_completion_t *c) {
    wkgoR2Head(H(ud), (char *)key, key_len, c);
}

static void r2_get(void *ud, const char *key, size_t key_len, const char *opts, size_t opts_len,
                   wk_completion_t *c) {
    wkgoR2Get(H(ud), (char *)key, key_len, (char *)opts, opts_len, c);
}

static void r2_put(void *ud, const char *key, size_t key_len, const char *opts, size_t opts_len,
                   wk_body_t *body, wk_completion_t *c) {
    wkgoR2Put(H(ud), (char *)key, key_len, (char *)opts, opts_len, body, c);
}

static void r2_remove(void *ud, const char *keys, size_t keys_len, wk_completion_t *c) {
    wkgoR2Remove(H(ud), (char *)keys, keys_len, c);
}

static void r2_list(void *ud, const char *opts, size_t opts_len, wk_completion_t *c) {
    wkgoR2List(H(ud), (char *)opts, opts_len, c);
}

static void r2_create(void *ud, const char *key, size_t key_len, const char *opts,
                      size_t opts_len, wk_completion_t *c) {
    wkgoR2CreateMultipart(H(ud), (char *)key, key_len, (char *)opts, opts_len, c);
}

static void r2_upload_part(void *ud, const char *key, size_t key_len, const char *id,
                           size_t id_len, uint32_t part, uint64_t size, wk_body_t *body,
                           wk_completion_t *c) {
    wkgoR2UploadPart(H(ud), (char *)key, key_len, (char *)id, id_len, part, size, body, c);
}

static void r2_complete(void *ud, const char *key, size_t key_len, const char *id, size_t id_len,
                        const char *parts, size_t parts_len, wk_completion_t *c) {
    wkgoR2CompleteMultipart(H(ud), (char *)key, key_len, (char *)id, id_len, (char *)parts,
                            parts_len, c);
}

static void r2_abort(void *ud, const char *key, size_t key_len, const char *id, size_t id_len,
                     wk_completion_t *c) {
    wkgoR2AbortMultipart(H(ud), (char *)key, key_len, (char *)id, id_len, c);
}

wk_status_t wkgo_env_add_r2(wk_env_t *env, const char *name, size_t name_len, uintptr_t store,
                            int multipart, wk_error_t **err) {
    wk_r2_vtable_t vt = {sizeof vt, r2_head, r2_get, r2_put, r2_remove, r2_list,
                         NULL,      NULL,    NULL,   NULL};
    if (multipart) {
        vt.create_multipart_upload = r2_create;
        vt.upload_part = r2_upload_part;
        vt.complete_multipart_upload = r2_complete;
        vt.abort_multipart_upload = r2_abort;
    }
    return wk_env_add_r2(env, name, name_len, &vt, (void *)store, free_handle, err);
}

/* ---- D1 ---- */

static void d1_query(void *ud, const char *query, size_t query_len, wk_completion_t *c) {
    wkgoD1Query(H(ud), (char *)query, query_len, c);
}

static void d1_dump(void *ud, wk_completion_t *c) { wkgoD1Dump(H(ud), c); }

wk_status_t wkgo_env_add_d1(wk_env_t *env, const char *name, size_t name_len, uintptr_t db,
                            wk_error_t **err) {
    wk_d1_vtable_t vt = {sizeof vt, d1_query, d1_dump};
    return wk_env_add_d1(env, name, name_len, &vt, (void *)db, free_handle, err);
}

/* ---- Queues ---- */

static void queue_send(void *ud, const wk_queue_message_t *msgs, size_t n, wk_completion_t *c) {
    wkgoQueueSend(H(ud), (wk_queue_message_t *)msgs, n, c);
}

static void queue_metrics(void *ud, wk_completion_t *c) { wkgoQueueMetrics(H(ud), c); }

wk_status_t wkgo_env_add_queue(wk_env_t *env, const char *name, size_t name_len, uintptr_t q,
                               int metrics, wk_error_t **err) {
    wk_queue_vtable_t vt = {sizeof vt, queue_send, metrics ? queue_metrics : NULL};
    return wk_env_add_queue(env, name, name_len, &vt, (void *)q, free_handle, err);
}

/* ---- Assets ---- */

static void assets_fetch(void *ud, const char *method, size_t method_len, const char *url,
                         size_t url_len, const wk_header_t *headers, size_t n,
                         wk_completion_t *c) {
    wkgoAssetsFetch(H(ud), (char *)method, method_len, (char *)url, url_len,
                    (wk_header_t *)headers, n, c);
}

wk_status_t wkgo_env_add_assets(wk_env_t *env, const char *name, size_t name_len,
                                uintptr_t assets, wk_error_t **err) {
    wk_assets_vtable_t vt = {sizeof vt, assets_fetch};
    return wk_env_add_assets(env, name, name_len, &vt, (void *)assets, free_handle, err);
}

/* ---- responses ---- */

void wkgo_response_info(const wk_response_t *resp, wkgo_response_info_t *out) {
    out->status = wk_response_status(resp);
    out->status_text = wk_response_status_text(resp);
    out->header_count = wk_response_header_count(resp);
    out->log_count = wk_response_log_count(resp);
    out->body = NULL;
    out->body_len = 0;
    wk_response_body(resp, &out->body, &out->body_len);
    out->duration_us = wk_response_duration_us(resp);
    out->pass_through = wk_response_pass_through(resp);
}


/* ---- queue events ---- */

static void queue_event(void *ud, const char *json, size_t len) {
    wkgoQueueEvent(H(ud), (char *)json, len);
}

wk_status_t wkgo_project_open(const wk_engine_t *engine, const char *path, size_t path_len,
                              const char *state_dir, size_t state_dir_len, const wk_env_t *env,
                              uintptr_t observer, wk_project_t **out, wk_error_t **err) {
    wk_project_options_t o;
    wk_project_options_init(&o);
    o.state_dir = state_dir;
    o.state_dir_len = state_dir_len;
    o.env = env;
    if (observer != 0) {
        o.on_queue_event = queue_event;
        o.queue_event_user_data = (void *)observer;
        o.queue_event_user_data_free = free_handle;
    }
    return wk_project_open_with(engine, path, path_len, &o, out, err);
}

wk_status_t wkgo_queue_broker_observe(const wk_queue_broker_t *broker, uintptr_t observer,
                                      wk_error_t **err) {
    return wk_queue_broker_observe(broker, queue_event, (void *)observer, free_handle, err);
}
