//! UTF-8 for TextEncoder/TextDecoder. V8 converts strings to UTF-8 for us; decoding validates.
use crate::engine::worker::IsolateState;
use crate::v8::{Scope, Type};

/// op_utf8_encode(string) -> Uint8Array
pub(super) fn op_utf8_encode(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let text = s.to_string(0);
    s.push_bytes(text.as_bytes());
}

/// op_utf8_encode_into(string, dest) -> [read (UTF-16 units), written (bytes)]
pub(super) fn op_utf8_encode_into(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let text = s.to_string(0);
    let Some((read, written)) = s.bytes(1).map(|dest| encode_into(&text, dest)) else {
        s.throw(
            "TypeError",
            "encodeInto() requires a Uint8Array destination",
        );
        return;
    };
    s.push_number(read as f64);
    s.push_number(written as f64);
    s.push_array(2);
}

/// Writes whole characters of `text` while they fit; returns (UTF-16 units read, bytes written).
fn encode_into(text: &str, dest: &mut [u8]) -> (usize, usize) {
    let (mut read, mut written) = (0, 0);
    for ch in text.chars() {
        let n = ch.len_utf8();
        if written + n > dest.len() {
            break;
        }
        ch.encode_utf8(&mut dest[written..written + n]);
        written += n;
        read += ch.len_utf16();
    }
    (read, written)
}

/// op_utf8_decode(bytes, fatal, ignoreBOM) -> string
pub(super) fn op_utf8_decode(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let fatal = s.to_bool(1);
    let ignore_bom = s.to_bool(2);
    if s.type_of(0) != Type::Bytes {
        s.throw(
            "TypeError",
            "The \"input\" argument must be an instance of ArrayBuffer or ArrayBufferView",
        );
        return;
    }
    let bytes = s.bytes(0).map(|b| b.to_vec()).unwrap_or_default();
    let mut input = &bytes[..];
    if !ignore_bom && input.starts_with(&[0xEF, 0xBB, 0xBF]) {
        input = &input[3..];
    }
    match std::str::from_utf8(input) {
        Ok(text) => s.push_str(text),
        Err(_) if fatal => {
            s.throw(
                "TypeError",
                "The encoded data was not valid for encoding utf-8",
            );
        }
        Err(_) => s.push_str(&String::from_utf8_lossy(input)),
    }
}
