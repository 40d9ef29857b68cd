//! WHATWG URL parsing and setters via the `url` crate; JS keeps the object model.
use crate::engine::worker::IsolateState;
use crate::v8::{Scope, Type};
use url::Url;

fn push_parts(s: &mut Scope, u: &Url) {
    let port = u.port().map(|p| p.to_string()).unwrap_or_default();
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => String::new(),
    };
    let search = match u.query() {
        Some(q) if !q.is_empty() => format!("?{q}"),
        _ => String::new(),
    };
    let hash = match u.fragment() {
        Some(f) if !f.is_empty() => format!("#{f}"),
        _ => String::new(),
    };
    let parts = [
        u.as_str().to_string(),
        u.origin().ascii_serialization(),
        format!("{}:", u.scheme()),
        u.username().to_string(),
        u.password().unwrap_or("").to_string(),
        host,
        u.host_str().unwrap_or("").to_string(),
        port,
        u.path().to_string(),
        search,
        hash,
    ];
    s.push_strings(&parts);
}

/// op_url_parse(href, base?) -> [href, origin, protocol, username, password, host, hostname,
/// port, pathname, search, hash] or null when invalid.
pub(super) fn op_url_parse(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let input = s.to_string(0);
    let parsed = if matches!(s.type_of(1), Type::Undefined) {
        Url::parse(&input)
    } else {
        Url::parse(&s.to_string(1)).and_then(|base| base.join(&input))
    };
    match parsed {
        Ok(u) => push_parts(s, &u),
        Err(_) => s.push_null(),
    }
}

/// op_url_set(href, component, value) -> parts of the updated URL, or null when href (or a new
/// "href") is invalid. Invalid values for other components are ignored, as the URL spec says.
pub(super) fn op_url_set(_: &IsolateState, s: &mut Scope, _argc: i32) {
    let Ok(mut u) = Url::parse(&s.to_string(0)) else {
        s.push_null();
        return;
    };
    let component = s.to_string(1);
    let value = s.to_string(2);
    match component.as_str() {
        "href" => match Url::parse(&value) {
            Ok(n) => u = n,
            Err(_) => {
                s.push_null();
                return;
            }
        },
        "protocol" => {
            let scheme = value.split(':').next().unwrap_or("");
            let _ = u.set_scheme(scheme);
        }
        "username" => {
            let _ = u.set_username(&value);
        }
        "password" => {
            let _ = u.set_password(if value.is_empty() { None } else { Some(&value) });
        }
        "host" if !u.cannot_be_a_base() => {
            let (h, p) = split_host_port(&value);
            if u.set_host(Some(h)).is_ok()
                && let Some(p) = p
            {
                let _ = u.set_port(p.parse().ok());
            }
        }
        "hostname" if !u.cannot_be_a_base() => {
            let _ = u.set_host(Some(split_host_port(&value).0));
        }
        "port" => {
            if value.is_empty() {
                let _ = u.set_port(None);
            } else {
                let digits: String = value.chars().take_while(|c| c.is_ascii_digit()).collect();
                if let Ok(p) = digits.parse::<u16>() {
                    let _ = u.set_port(Some(p));
                }
            }
        }
        "pathname" if !u.cannot_be_a_base() => u.set_path(&value),
        "search" => {
            let q = value.strip_prefix('?').unwrap_or(&value);
            u.set_query(if q.is_empty() { None } else { Some(q) });
        }
        "hash" => {
            let f = value.strip_prefix('#').unwrap_or(&value);
            u.set_fragment(if f.is_empty() { None } else { Some(f) });
        }
        _ => {}
    }
    push_parts(s, &u);
}

/// Splits "host:port", leaving IPv6 literals ("[::1]:80") intact.
fn split_host_port(v: &str) -> (&str, Option<&str>) {
    let end_of_host = if v.starts_with('[') {
        v.find(']').map_or(v.len(), |i| i + 1)
    } else {
        v.find([':', '/', '?', '#']).unwrap_or(v.len())
    };
    let host = &v[..end_of_host];
    let rest = &v[end_of_host..];
    let port = rest.strip_prefix(':').map(|p| {
        let end = p.find(['/', '?', '#']).unwrap_or(p.len());
        &p[..end]
    });
    (host, port)
}
