/// The bootstrap scripts, in evaluation order. Each is a function expression called with the
/// native `ops` and the private `internals` object while the startup snapshot is built.
pub const BOOTSTRAP: &[(&str, &str)] = &[
    (
        "wk:internal/builtins.js",
        include_str!("../api/builtins.js"),
    ),
    ("wk:internal/globals.js", include_str!("../api/globals.js")),
    ("wk:internal/events.js", include_str!("../api/events.js")),
    ("wk:internal/console.js", include_str!("../api/console.js")),
    ("wk:internal/timers.js", include_str!("../api/timers.js")),
    (
        "wk:internal/encoding.js",
        include_str!("../api/encoding.js"),
    ),
    ("wk:internal/url.js", include_str!("../api/url.js")),
    ("wk:internal/streams.js", include_str!("../api/streams.js")),
    ("wk:internal/http.js", include_str!("../api/http.js")),
    ("wk:internal/crypto.js", include_str!("../api/crypto.js")),
    ("wk:internal/internals.js", include_str!("internals.js")),
    ("wk:internal/kv.js", include_str!("../api/kv.js")),
    ("wk:internal/d1.js", include_str!("../api/d1.js")),
    ("wk:internal/assets.js", include_str!("../api/assets.js")),
    ("wk:internal/queue.js", include_str!("../api/queue.js")),
    ("wk:internal/cache.js", include_str!("../api/cache.js")),
    ("wk:internal/body.js", include_str!("../api/body.js")),
    ("wk:internal/r2.js", include_str!("../api/r2.js")),
];
