//! JSON with comments (the `wrangler.jsonc` dialect): `//` and `/* */` comments and trailing
//! commas before `]` or `}`. We turn it into strict JSON and hand that to serde_json, so every
//! other rule (and every error message) stays serde_json's.
//!
//! Removed characters are replaced by spaces rather than dropped, and newlines are always kept,
//! so the line:column serde_json reports for a syntax error still points into the user's file.

/// Converts JSONC text to strict JSON with the same line and column layout.
pub fn to_json(src: &str) -> String {
    let bytes = src.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut i = 0;
    // Index in `out` of a comma that may turn out to be trailing; only whitespace and comments
    // have been emitted since it.
    let mut pending_comma: Option<usize> = None;

    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'"' => {
                pending_comma = None;
                // Copy the string verbatim, honouring backslash escapes so `\"` does not end it
                // and `//` inside a string is not a comment.
                out.push(b);
                i += 1;
                while i < bytes.len() {
                    let c = bytes[i];
                    out.push(c);
                    i += 1;
                    if c == b'\\' && i < bytes.len() {
                        out.push(bytes[i]);
                        i += 1;
                    } else if c == b'"' {
                        break;
                    }
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    out.push(b' ');
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                out.extend_from_slice(b"  ");
                i += 2;
                while i < bytes.len() && !(bytes[i] == b'*' && bytes.get(i + 1) == Some(&b'/')) {
                    out.push(if bytes[i] == b'\n' { b'\n' } else { b' ' });
                    i += 1;
                }
                if i < bytes.len() {
                    out.extend_from_slice(b"  ");
                    i += 2;
                }
            }
            b',' => {
                pending_comma = Some(out.len());
                out.push(b);
                i += 1;
            }
            b']' | b'}' => {
                if let Some(at) = pending_comma.take() {
                    out[at] = b' ';
                }
                out.push(b);
                i += 1;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {
                out.push(b);
                i += 1;
            }
            _ => {
                pending_comma = None;
                out.push(b);
                i += 1;
            }
        }
    }
    // Only ASCII bytes were replaced by ASCII bytes, and multi-byte sequences are copied whole
    // (their bytes are never `"`, `/`, `,` or brackets), so the output is still UTF-8.
    String::from_utf8(out).expect("JSONC stripping keeps UTF-8 intact")
}

#[cfg(test)]
mod tests {
    use super::to_json;
    use serde_json::{Value, json};

    fn parse(s: &str) -> Value {
        serde_json::from_str(&to_json(s)).unwrap()
    }

    #[test]
    fn comments_and_trailing_commas() {
        let v = parse(
            r#"{
              // line comment
              "name": "a", /* block
              comment */ "list": [1, 2, 3,],
              "o": { "k": "v", },
            }"#,
        );
        assert_eq!(v, json!({"name": "a", "list": [1, 2, 3], "o": {"k": "v"}}));
    }

    #[test]
    fn strings_are_untouched() {
        let v = parse(r#"{ "url": "https://x/*y*/", "q": "a\"//b", "c": ",]" }"#);
        assert_eq!(
            v,
            json!({"url": "https://x/*y*/", "q": "a\"//b", "c": ",]"})
        );
    }

    #[test]
    fn comma_then_comment_then_bracket() {
        let v = parse("[1, // one\n 2, /* two */\n]");
        assert_eq!(v, json!([1, 2]));
    }

    #[test]
    fn error_positions_survive() {
        let err = serde_json::from_str::<Value>(&to_json("// c\n{ /* x\n */\n  \"a\": @\n}"))
            .unwrap_err();
        assert_eq!((err.line(), err.column()), (4, 8));
    }

    #[test]
    fn non_ascii_kept() {
        assert_eq!(parse(r#"{"é": "ü/*x*/"} // ß"#), json!({"é": "ü/*x*/"}));
    }
}
