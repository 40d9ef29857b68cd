/*
 * Compiled (not run) as strict C99 and as C++ with every warning an error: worker.h must be
 * valid, self-contained and warning-free in both languages.
 */
#include "worker.h"

#if !defined(WK_ABI_VERSION) || WK_ABI_VERSION != 1
#error "WK_ABI_VERSION must be 1"
#endif

#ifdef __cplusplus
static_assert(sizeof(wk_status_t) == 4, "wk_status_t is 32-bit");
#endif

typedef char wk_status_is_negative[(WK_E_INVALID_ARGUMENT < 0 && WK_OK == 0) ? 1 : -1];
typedef char vtable_starts_with_size[(sizeof(uint32_t) <= sizeof(wk_source_loader_vtable_t)) ? 1 : -1];

static wk_status_t loader(void *ud, const char *site, size_t site_len, const char *deploy,
                          size_t deploy_len, wk_source_t *out) {
    (void)ud;
    (void)site;
    (void)site_len;
    (void)deploy;
    (void)deploy_len;
    return wk_source_add_module(out, "a.js", 4, WK_MODULE_ESM, (const uint8_t *)"", 0, NULL);
}

static void done(void *ud, wk_status_t status, wk_response_t *resp, wk_error_t *err) {
    (void)ud;
    (void)status;
    wk_response_free(resp);
    wk_error_free(err);
}

int header_check(void);
int header_check(void) {
    wk_source_loader_vtable_t vt = {sizeof(wk_source_loader_vtable_t), loader};
    wk_engine_options_t opts;
    wk_execute_done_cb cb = done;
    wk_source_load_cb lcb = loader;
    wk_user_data_free_cb fcb = NULL;
    wk_log_level_t lv = WK_LOG_WARN;
    wk_module_type_t mt = WK_MODULE_DATA;
    wk_completion_t *c = NULL;
    (void)vt;
    (void)cb;
    (void)lcb;
    (void)fcb;
    (void)lv;
    (void)mt;
    wk_engine_options_init(&opts);
    return (int)wk_abi_version() + (c == NULL) + (int)opts.allow_code_generation;
}
