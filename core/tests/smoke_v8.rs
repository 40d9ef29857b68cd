use worker_core::v8;

fn dispatch(_d: *mut std::ffi::c_void, s: &mut v8::Scope, op: u32, argc: i32) {
    assert_eq!(op, 0);
    let a = s.to_number(0);
    let b = if argc > 1 { s.to_number(1) } else { 0.0 };
    s.push_number(a + b);
}
static OPS: v8::OpTable = v8::OpTable {
    names: &["op_add"],
    dispatch,
};

#[test]
fn snapshot_isolate_ops() {
    v8::init(2, &OPS);
    let snap = v8::create_snapshot(&OPS, &[("boot.js", "(function(ops, internals){ globalThis.add = ops.op_add; internals.hello = (x) => 'hi ' + x; })".to_string())]).unwrap();
    let snap: &'static [u8] = Box::leak(snap.into_boxed_slice());
    // SAFETY: a null data pointer is fine: this test's dispatcher never reads it.
    let iso = unsafe { v8::Isolate::new(snap, 64 << 20, false, std::ptr::null_mut()) };
    let r = iso.enter(|s| {
        s.run_script("t.js", "add(2, 40)", None)
            .map_err(|e| format!("{e:?}"))
            .unwrap();
        let n = s.to_number(-1 + s.top());
        s.push_internal("hello");
        let f = s.top() - 1;
        s.push_str("bob");
        s.call(f, None, 1).unwrap();
        (n, s.to_string(s.top() - 1))
    });
    assert_eq!(r, (42.0, "hi bob".to_string()));
}
