/*
 * D1 databases implemented in C (strict C99 + pthreads), run under AddressSanitizer with leak
 * detection or valgrind. A small fake database records the JSON each call brings (so the test
 * sees parameters arrive typed) and answers with rows the worker must see exactly: inline, from
 * another thread after the callback returned, with a statement's failure, and by rejecting.
 * The embedded database (wk_env_add_d1_default) runs real SQL beside them.
 */
#include "check.h"

static const char WORKER[] =
    "export default {\n"
    "  async fetch(request, env) {\n"
    "    const path = new URL(request.url).pathname;\n"
    "    const attempt = async (f) => { try { await f(); return 'resolved'; }\n"
    "      catch (e) { return e.message + ' | ' + e.cause?.message; } };\n"
    "    if (path === '/typed') {\n"
    "      const r = await env.INLINE.prepare('SELECT * FROM t WHERE a = ?')\n"
    "        .bind(7, 2.5, 'hi', null, true, new Uint8Array([1, 2])).all();\n"
    "      return Response.json({ results: r.results, changes: r.meta.changes,\n"
    "        last: r.meta.last_row_id, by: r.meta.served_by, raw: await env.INLINE.prepare('X').raw() });\n"
    "    }\n"
    "    if (path === '/later') {\n"
    "      const s = env.LATER.withSession('first-primary');\n"
    "      const [a, b] = await s.batch([s.prepare('A'), s.prepare('B')]);\n"
    "      return Response.json({ a: a.results, b: b.meta.changes, bookmark: s.getBookmark() });\n"
    "    }\n"
    "    if (path === '/errors') {\n"
    "      return Response.json([\n"
    "        await attempt(() => env.INLINE.batch([env.INLINE.prepare('A'), env.INLINE.prepare('FAIL_SECOND')])),\n"
    "        await attempt(() => env.INLINE.exec('A\\nFAIL_SECOND')),\n"
    "        await attempt(() => env.BROKEN.prepare('SELECT 1').first()),\n"
    "        await attempt(() => env.INLINE.dump()),\n"
    "        await attempt(() => env.INLINE.prepare('X').bind(undefined)),\n"
    "      ]);\n"
    "    }\n"
    "    if (path === '/local') {\n"
    "      await env.LOCAL.exec('CREATE TABLE IF NOT EXISTS n (id INTEGER PRIMARY KEY, b BLOB)');\n"
    "      const ins = await env.LOCAL.prepare('INSERT INTO n (b) VALUES (?)').bind([5, 6]).run();\n"
    "      const row = await env.LOCAL.prepare('SELECT b, typeof(b) AS t FROM n WHERE id = ?')\n"
    "        .bind(ins.meta.last_row_id).first();\n"
    "      const dump = new Uint8Array(await env.LOCAL.dump());\n"
    "      return Response.json({ row, changes: ins.meta.changes,\n"
    "        header: String.fromCharCode(...dump.slice(0, 15)) });\n"
    "    }\n"
    "    return new Response('not found', { status: 404 });\n"
    "  },\n"
    "};\n";

static struct one_module MODULE = {"d1.js", WORKER};

/* The fake database. */
enum db_mode { DB_INLINE, DB_LATER, DB_FAIL };

struct db {
    enum db_mode mode;
    pthread_mutex_t lock;
    char log[4096]; /* the JSON of every call, one per line */
    int calls;
    int *freed;
};

static int handles_freed;

/* One result per statement ("sql" occurs once per statement), or a failure of the statement
 * named FAIL_SECOND. A BLOB cell and an integer beyond 2^53 check the result encoding. */
static size_t answer(const char *query, char *out, size_t cap) {
    const char *p = query;
    int statements = 0, i;
    size_t n = 0;
    while ((p = strstr(p, "\"sql\":")) != NULL) {
        statements++;
        p++;
    }
    if (contains(query, "FAIL_SECOND"))
        return (size_t)snprintf(out, cap, "{\"error\":\"no such table: nope\",\"statement\":1}");
    n += (size_t)snprintf(out + n, cap - n, "{\"results\":[");
    for (i = 0; i < statements; i++) {
        n += (size_t)snprintf(out + n, cap - n,
                              "%s{\"columns\":[\"id\",\"data\",\"big\"],"
                              "\"rows\":[[1,[104,105],9007199254740993],[2.5,null,\"x\"]],"
                              "\"meta\":{\"changes\":%d,\"last_row_id\":42,\"served_by\":\"c-host\"}}",
                              i ? "," : "", i + 1);
    }
    n += (size_t)snprintf(out + n, cap - n, "],\"bookmark\":\"0002\"}");
    return n;
}

struct later {
    wk_completion_t *c;
    char query[1024];
};

static void *answer_later(void *arg) {
    struct later *l = (struct later *)arg;
    char json[2048];
    size_t n;
    /* The vtable call returned long ago; the completion is still good. */
    sleep_ms(20);
    n = answer(l->query, json, sizeof json);
    wk_completion_resolve(l->c, (const uint8_t *)json, n);
    free(l);
    done_later();
    return NULL;
}

static void db_query(void *user_data, const char *query, size_t len, wk_completion_t *c) {
    struct db *db = (struct db *)user_data;
    char json[2048];
    size_t n;
    pthread_mutex_lock(&db->lock);
    db->calls++;
    {
        size_t used = strlen(db->log);
        snprintf(db->log + used, sizeof db->log - used, "%.*s\n", (int)len, query);
    }
    pthread_mutex_unlock(&db->lock);
    CHECK(query[len] == '\0');
    if (db->mode == DB_FAIL) {
        wk_completion_reject(c, S("database offline"));
    } else if (db->mode == DB_LATER) {
        struct later *l = (struct later *)calloc(1, sizeof *l);
        l->c = c;
        snprintf(l->query, sizeof l->query, "%.*s", (int)len, query);
        if (run_later(answer_later, l) != 0) {
            free(l);
            wk_completion_reject(c, S("no thread"));
        }
    } else {
        n = answer(query, json, sizeof json);
        wk_completion_resolve(c, (const uint8_t *)json, n);
    }
}

static void db_free(void *user_data) {
    struct db *db = (struct db *)user_data;
    (*db->freed)++;
    pthread_mutex_destroy(&db->lock);
    free(db);
}

static struct db *add_db(wk_env_t *env, const char *name, enum db_mode mode) {
    wk_d1_vtable_t vt;
    struct db *db = (struct db *)calloc(1, sizeof *db);
    db->mode = mode;
    db->freed = &handles_freed;
    pthread_mutex_init(&db->lock, NULL);
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    vt.query = db_query;
    /* dump stays NULL: this database offers none. */
    CHECK(wk_env_add_d1(env, name, strlen(name), &vt, db, db_free, NULL) == WK_OK);
    return db;
}

/* Copies the calls' log into `out` and clears it. */
static void take_log(struct db *db, char *out, size_t cap) {
    pthread_mutex_lock(&db->lock);
    snprintf(out, cap, "%s", db->log);
    db->log[0] = '\0';
    pthread_mutex_unlock(&db->lock);
}

/* Runs GET `path` and checks the body is exactly `want`. */
static void expect_body(wk_engine_t *engine, wk_env_t *env, const char *path, const char *want) {
    expect_get(engine, "d1", env, path, 200, want);
}

static void test_bad_vtables(void) {
    wk_env_t *env = NULL;
    wk_error_t *err = NULL;
    wk_d1_vtable_t vt;
    const char bad_utf8[] = {'D', (char)0xC3, '(', 0};
    CHECK(wk_env_new(&env, NULL) == WK_OK);

    /* A NULL query is refused, and the user_data is finalized all the same. */
    memset(&vt, 0, sizeof vt);
    vt.struct_size = sizeof vt;
    EXPECT_ERROR(wk_env_add_d1(env, S("DB"), &vt, calloc(1, 1), free, &err),
                 WK_E_INVALID_ARGUMENT, "wk_d1_vtable_t.query is NULL");

    vt.query = db_query;
    vt.struct_size = 4;
    CHECK(wk_env_add_d1(env, S("DB"), &vt, NULL, NULL, &err) == WK_E_INVALID_ARGUMENT);
    wk_error_free(err);
    err = NULL;
    vt.struct_size = sizeof vt;
    CHECK(wk_env_add_d1(env, bad_utf8, 3, &vt, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_env_add_d1(env, S("DB"), NULL, NULL, NULL, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_env_add_d1_default(env, S("DB"), NULL, 3, NULL) == WK_E_INVALID_ARGUMENT);
    CHECK(wk_env_add_d1_default(NULL, S("DB"), S("/tmp/x.sqlite"), NULL) ==
          WK_E_INVALID_ARGUMENT);
    wk_env_free(env);
}

int main(void) {
    wk_engine_t *engine;
    wk_env_t *env = NULL;
    struct db *inline_db, *later_db;
    char query[4096], path[128];

    test_bad_vtables();

    engine = start_engine(load_one_module, &MODULE, NULL, 1, 0);
    if (engine == NULL) return summary("d1");

    CHECK(wk_env_new(&env, NULL) == WK_OK);
    inline_db = add_db(env, "INLINE", DB_INLINE);
    later_db = add_db(env, "LATER", DB_LATER);
    add_db(env, "BROKEN", DB_FAIL);
    snprintf(path, sizeof path, "/tmp/wk-c-d1-%d/db.sqlite", (int)getpid());
    CHECK(wk_env_add_d1_default(env, S("LOCAL"), path, strlen(path), NULL) == WK_OK);

    /* Parameters reach the database typed; rows, BLOBs, 64-bit integers and meta reach JS. */
    expect_body(engine, env, "/typed",
                "{\"results\":[{\"id\":1,\"data\":[104,105],\"big\":9007199254740992},"
                "{\"id\":2.5,\"data\":null,\"big\":\"x\"}],\"changes\":1,\"last\":42,"
                "\"by\":\"c-host\",\"raw\":[[1,[104,105],9007199254740992],[2.5,null,\"x\"]]}");
    take_log(inline_db, query, sizeof query);
    /* Integer, real, text, null, boolean as 1, BLOB bytes. */
    CHECK(contains(query, "\"params\":[7,2.5,\"hi\",null,1,[1,2]]"));
    CHECK(contains(query, "\"mode\":\"query\""));
    CHECK(contains(query, "\"session\":\"first-primary\""));
    CHECK(contains(query, "\"sql\":\"SELECT * FROM t WHERE a = ?\""));
    CHECK(contains(query, "\"sql\":\"X\""));
    CHECK(inline_db->calls == 2);

    /* Answered from another thread after the callback returned; a batch is one call. */
    expect_body(engine, env, "/later",
                "{\"a\":[{\"id\":1,\"data\":[104,105],\"big\":9007199254740992},"
                "{\"id\":2.5,\"data\":null,\"big\":\"x\"}],\"b\":2,\"bookmark\":\"0002\"}");
    take_log(later_db, query, sizeof query);
    CHECK(later_db->calls == 1);
    /* Both statements, in order, in the one call (object keys may come in any order). */
    CHECK(contains(query, "\"sql\":\"A\"") && contains(query, "\"sql\":\"B\""));
    CHECK(strstr(query, "\"sql\":\"A\"") < strstr(query, "\"sql\":\"B\""));
    CHECK(contains(query, "\"params\":[]"));

    /* A statement's failure, a rejecting host, dump without a dump callback, a bad bind(). */
    expect_body(engine, env, "/errors",
                "[\"D1_ERROR: no such table: nope | no such table: nope\","
                "\"D1_EXEC_ERROR: Error in line 2: FAIL_SECOND: no such table: nope | "
                "Error in line 2: FAIL_SECOND: no such table: nope\","
                "\"D1_ERROR: database offline | database offline\","
                "\"D1_DUMP_ERROR: Status + 404 | Status 404\","
                "\"D1_TYPE_ERROR: Type 'undefined' not supported for value 'undefined' | "
                "Type 'undefined' not supported for value 'undefined'\"]");
    take_log(inline_db, query, sizeof query);
    CHECK(contains(query, "\"mode\":\"exec\""));

    /* The embedded database: real SQL, a BLOB bound from a byte array, and dump(). */
    expect_body(engine, env, "/local",
                "{\"row\":{\"b\":[5,6],\"t\":\"blob\"},\"changes\":1,\"header\":\"SQLite format 3\"}");

    wk_env_free(env);
    CHECK(wk_engine_shutdown(engine, NULL) == WK_OK);
    wk_engine_free(engine);
    wait_for_threads();
    /* Every host database was finalized exactly once, when the engine let go of it. */
    CHECK(handles_freed == 3);

    return summary("d1");
}
