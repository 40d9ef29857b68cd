//! crypto.getRandomValues / randomUUID from the OS CSPRNG.
use crate::engine::worker::IsolateState;
use crate::v8::Scope;

/// op_random_fill(view): fills the view in place (JS has checked type and quota).
pub(super) fn op_random_fill(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let filled = s.bytes(0).map(|buf| getrandom::fill(buf).is_ok());
    match filled {
        None => s.throw(
            "TypeError",
            "getRandomValues() requires an integer TypedArray",
        ),
        Some(false) => s.throw("Error", "the operating system's random source failed"),
        Some(true) => {}
    }
}

/// op_random_uuid() -> RFC 4122 version 4 UUID string.
pub(super) fn op_random_uuid(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        s.throw("Error", "the operating system's random source failed");
        return;
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let uuid = format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    s.push_str(&uuid);
}
