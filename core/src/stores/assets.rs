//! The embedded static-assets server: a directory on disk served with Cloudflare's asset-worker
//! rules (html_handling, not_found_handling, canonical-path redirects, ETags, 304, 405, HEAD).
//!
//! Paths are resolved the way the production asset worker resolves them against its manifest:
//! the request path is percent-decoded segment by segment, runs of slashes collapse, and a
//! candidate path names an asset only if every segment is a real name (no `.`/`..`, no empty
//! segment, no NUL) and the file, after following symlinks, is a regular file inside the
//! directory. Whether a redirect is safe is decided by comparing ETags, as production does.
use crate::api::assets::{AssetRequest, AssetResponse, AssetsFetcher};
use crate::api::host::HostError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

/// `assets.html_handling`: how `.html` files and `index.html` map to paths.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HtmlHandling {
    /// `/about` serves `about.html`, `/blog/` serves `blog/index.html`; other spellings redirect.
    #[default]
    AutoTrailingSlash,
    /// Every HTML page is served at a path ending in `/`.
    ForceTrailingSlash,
    /// Every HTML page is served at a path without a trailing `/` (except `/`).
    DropTrailingSlash,
    /// Only exact file paths match.
    None,
}

impl HtmlHandling {
    /// Parses wrangler's spelling (`"auto-trailing-slash"`, ...).
    pub fn parse(s: &str) -> Option<HtmlHandling> {
        Some(match s {
            "auto-trailing-slash" => HtmlHandling::AutoTrailingSlash,
            "force-trailing-slash" => HtmlHandling::ForceTrailingSlash,
            "drop-trailing-slash" => HtmlHandling::DropTrailingSlash,
            "none" => HtmlHandling::None,
            _ => return None,
        })
    }
}

/// `assets.not_found_handling`: what a path with no asset gets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NotFoundHandling {
    /// A plain 404 with no body (and, behind a worker, the worker runs instead).
    #[default]
    None,
    /// `/index.html` with status 200.
    SinglePageApplication,
    /// The nearest `404.html` walking up from the path's directory, with status 404.
    NotFoundPage,
}

impl NotFoundHandling {
    /// Parses wrangler's spelling (`"none"`, `"single-page-application"`, `"404-page"`).
    pub fn parse(s: &str) -> Option<NotFoundHandling> {
        Some(match s {
            "none" => NotFoundHandling::None,
            "single-page-application" => NotFoundHandling::SinglePageApplication,
            "404-page" => NotFoundHandling::NotFoundPage,
            _ => return None,
        })
    }
}

/// How a [`DirAssets`] maps paths to files.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AssetsOptions {
    pub html_handling: HtmlHandling,
    pub not_found_handling: NotFoundHandling,
}

/// `Cache-Control` on every asset a request without `Range` or `Authorization` gets.
const CACHE_CONTROL: &str = "public, max-age=0, must-revalidate";

/// Names wrangler never uploads as assets (configuration files of the assets directory, and
/// what its default ignore list holds), so they are never served here either.
const NEVER_SERVED: &[&str] = &[
    ".assetsignore",
    "_headers",
    "_redirects",
    "_worker.js",
    "node_modules",
    ".git",
    ".DS_Store",
];

/// A file that exists as an asset.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Found {
    path: PathBuf,
    etag: String,
}

/// What a path resolves to.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Intent {
    /// Serve this file with this status (200, or 404 for a 404 page).
    Asset(Found, u16),
    /// 307 to this decoded path.
    Redirect(String),
}

/// A directory served as a worker's static assets. Cheap to clone; clones share the ETag cache.
#[derive(Clone)]
pub struct DirAssets {
    inner: Arc<Inner>,
}

struct Inner {
    /// Canonical (symlink-free) path of the directory; served files must stay below it.
    root: PathBuf,
    options: AssetsOptions,
    /// Content hashes by canonical file path, valid while size and mtime are unchanged.
    etags: Mutex<HashMap<PathBuf, CachedEtag>>,
}

/// A file's size and mtime when it was hashed, and the hash.
type CachedEtag = (u64, Option<SystemTime>, String);

impl DirAssets {
    /// Serves `dir`, which must exist. Files are read on every request (after a cheap
    /// `stat`), so edits show up at once, as with `wrangler dev`.
    pub fn new(dir: impl AsRef<Path>, options: AssetsOptions) -> Result<DirAssets, String> {
        let dir = dir.as_ref();
        let root = dir
            .canonicalize()
            .map_err(|e| format!("assets directory {}: {e}", dir.display()))?;
        if !root.is_dir() {
            return Err(format!(
                "assets directory {} is not a directory",
                dir.display()
            ));
        }
        Ok(DirAssets {
            inner: Arc::new(Inner {
                root,
                options,
                etags: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The served directory (canonical).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub fn options(&self) -> AssetsOptions {
        self.inner.options
    }

    /// Answers `request` on the calling thread (it reads files). `fetch` runs this on tokio's
    /// blocking pool.
    pub fn fetch_blocking(&self, request: &AssetRequest) -> Result<AssetResponse, HostError> {
        self.inner.respond(request, self.inner.options)
    }

    /// `can_fetch` on the calling thread.
    pub fn can_fetch_blocking(
        &self,
        request: &AssetRequest,
        apply_not_found_handling: bool,
    ) -> bool {
        let mut options = self.inner.options;
        if !apply_not_found_handling {
            options.not_found_handling = NotFoundHandling::None;
        }
        self.inner
            .resolve(request, options)
            .is_ok_and(|r| !matches!(r, Resolved::NoIntent))
    }
}

#[async_trait]
impl AssetsFetcher for DirAssets {
    async fn fetch(&self, request: AssetRequest) -> Result<AssetResponse, HostError> {
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.fetch_blocking(&request))
            .await
            .map_err(|_| HostError::new("assets task failed"))?
    }

    async fn can_fetch(
        &self,
        request: &AssetRequest,
        apply_not_found_handling: bool,
    ) -> Result<bool, HostError> {
        let this = self.clone();
        let request = request.clone();
        tokio::task::spawn_blocking(move || {
            this.can_fetch_blocking(&request, apply_not_found_handling)
        })
        .await
        .map_err(|_| HostError::new("assets task failed"))
    }
}

/// The outcome of resolving a request, before any file is read.
enum Resolved {
    /// No asset: a plain 404 (and, behind a worker, the worker's turn).
    NoIntent,
    MethodNotAllowed,
    /// 307 to this location (path and query).
    Redirect(String),
    Asset(Found, u16),
}

fn empty(status: u16) -> AssetResponse {
    AssetResponse {
        status,
        headers: Vec::new(),
        body: Vec::new(),
    }
}

impl Inner {
    fn respond(
        &self,
        request: &AssetRequest,
        options: AssetsOptions,
    ) -> Result<AssetResponse, HostError> {
        match self.resolve(request, options)? {
            Resolved::NoIntent => Ok(empty(404)),
            Resolved::MethodNotAllowed => Ok(empty(405)),
            Resolved::Redirect(location) => Ok(AssetResponse {
                status: 307,
                headers: vec![("Location".into(), location)],
                body: Vec::new(),
            }),
            Resolved::Asset(found, status) => self.serve(request, &found, status),
        }
    }

    fn resolve(
        &self,
        request: &AssetRequest,
        options: AssetsOptions,
    ) -> Result<Resolved, HostError> {
        let url = url::Url::parse(&request.url)
            .map_err(|e| HostError::new(format!("invalid asset URL {:?}: {e}", request.url)))?;
        let pathname = url.path();
        let search = match url.query() {
            Some(q) if !q.is_empty() => format!("?{q}"),
            _ => String::new(),
        };
        let decoded = decode_path(pathname);
        let resolver = Resolver { dir: self, options };
        let Some(intent) = resolver.intent(&decoded, false) else {
            return Ok(Resolved::NoIntent);
        };
        let method = request.method.to_ascii_uppercase();
        if method != "GET" && method != "HEAD" {
            return Ok(Resolved::MethodNotAllowed);
        }
        // The canonical spelling of a path is its decoded form re-encoded; any other spelling,
        // and every html_handling redirect, is a 307 (folded into one redirect).
        match intent {
            Intent::Redirect(to) => Ok(Resolved::Redirect(encode_path(&to) + &search)),
            Intent::Asset(found, status) => {
                let canonical = encode_path(&decoded);
                if canonical != pathname {
                    Ok(Resolved::Redirect(canonical + &search))
                } else {
                    Ok(Resolved::Asset(found, status))
                }
            }
        }
    }

    fn serve(
        &self,
        request: &AssetRequest,
        found: &Found,
        status: u16,
    ) -> Result<AssetResponse, HostError> {
        let etag = format!("\"{}\"", found.etag);
        let mut headers = vec![("ETag".to_string(), etag.clone())];
        headers.push(("Content-Type".into(), content_type(&found.path)));
        // Production leaves Cache-Control off for requests that may be personalised.
        if request.header_value("authorization").is_none()
            && request.header_value("range").is_none()
        {
            headers.push(("Cache-Control".into(), CACHE_CONTROL.into()));
        }
        // Only an exact strong or weak match counts; lists and `*` do not (as in production).
        let if_none_match = request.header_value("if-none-match").unwrap_or("");
        if if_none_match == etag || if_none_match.strip_prefix("W/") == Some(etag.as_str()) {
            return Ok(AssetResponse {
                status: 304,
                headers,
                body: Vec::new(),
            });
        }
        let body = if request.method.eq_ignore_ascii_case("HEAD") {
            Vec::new()
        } else {
            std::fs::read(&found.path).map_err(|e| {
                HostError::new(format!("cannot read asset {}: {e}", found.path.display()))
            })?
        };
        Ok(AssetResponse {
            status,
            headers,
            body,
        })
    }

    /// The asset a decoded path names, if any.
    fn exists(&self, path: &str) -> Option<Found> {
        let rest = path.strip_prefix('/')?;
        let mut file = self.root.clone();
        for segment in rest.split('/') {
            if segment.is_empty()
                || segment == "."
                || segment == ".."
                || segment.contains('\0')
                || NEVER_SERVED.contains(&segment)
            {
                return None;
            }
            file.push(segment);
        }
        // Following symlinks is fine as long as the target stays inside the directory.
        let real = file.canonicalize().ok()?;
        if !real.starts_with(&self.root) {
            return None;
        }
        let meta = std::fs::metadata(&real).ok()?;
        if !meta.is_file() {
            return None;
        }
        let etag = self.etag(&real, &meta)?;
        Some(Found { path: real, etag })
    }

    /// The file's ETag value (32 hex digits, unquoted): a hash of its content and extension,
    /// as production derives it from what wrangler uploaded. Cached per file until its size or
    /// mtime changes.
    fn etag(&self, path: &Path, meta: &std::fs::Metadata) -> Option<String> {
        let key = (meta.len(), meta.modified().ok());
        {
            let cache = self.etags.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((len, mtime, etag)) = cache.get(path)
                && (*len, *mtime) == key
            {
                return Some(etag.clone());
            }
        }
        let content = std::fs::read(path).ok()?;
        let mut hash = Fnv128::new();
        hash.write(&content);
        hash.write(b"\0");
        hash.write(
            path.extension()
                .map(|e| e.as_encoded_bytes())
                .unwrap_or_default(),
        );
        let etag = format!("{:032x}", hash.finish());
        self.etags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(path.to_path_buf(), (key.0, key.1, etag.clone()));
        Some(etag)
    }
}

/// FNV-1a with 128-bit state: small, stable across builds, and good enough to tell file
/// contents apart for cache validation (not a security boundary).
struct Fnv128(u128);

impl Fnv128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013B;

    fn new() -> Self {
        Fnv128(Self::OFFSET)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= b as u128;
            self.0 = self.0.wrapping_mul(Self::PRIME);
        }
    }

    fn finish(&self) -> u128 {
        self.0
    }
}

/// The html_handling and not_found_handling rules over one directory.
struct Resolver<'a> {
    dir: &'a Inner,
    options: AssetsOptions,
}

impl Resolver<'_> {
    fn exists(&self, path: &str) -> Option<Found> {
        self.dir.exists(path)
    }

    fn asset(&self, path: &str) -> Option<Intent> {
        self.exists(path).map(|f| Intent::Asset(f, 200))
    }

    /// A redirect from the spelling that names `file` to `destination`, but only when
    /// `destination` is not itself a file and would serve that very file (same ETag), so a
    /// redirect never lands on a different page or a miss. `skip` is set while answering such
    /// a question, so redirects never chain.
    fn redirect(&self, file: &str, destination: &str, skip: bool) -> Option<Intent> {
        if skip || self.exists(destination).is_some() {
            return None;
        }
        match self.intent(destination, true) {
            Some(Intent::Asset(target, _))
                if self.exists(file).is_some_and(|f| f.etag == target.etag) =>
            {
                Some(Intent::Redirect(destination.to_string()))
            }
            _ => None,
        }
    }

    fn intent(&self, path: &str, skip: bool) -> Option<Intent> {
        match self.options.html_handling {
            HtmlHandling::AutoTrailingSlash => self.auto_trailing_slash(path, skip),
            HtmlHandling::ForceTrailingSlash => self.force_trailing_slash(path, skip),
            HtmlHandling::DropTrailingSlash => self.drop_trailing_slash(path, skip),
            HtmlHandling::None => self.asset(path).or_else(|| self.not_found(path)),
        }
    }

    fn auto_trailing_slash(&self, p: &str, skip: bool) -> Option<Intent> {
        let exact = self.exists(p);
        let special = if let Some(base) = p.strip_suffix("/index") {
            if let Some(f) = exact {
                return Some(Intent::Asset(f, 200));
            }
            // /foo/index: /foo/index.html is served at /foo/, else /foo.html at /foo.
            self.redirect(&format!("{p}.html"), &format!("{base}/"), skip)
                .or_else(|| self.redirect(&format!("{base}.html"), base, skip))
        } else if let Some(base) = p.strip_suffix("/index.html") {
            self.redirect(p, &format!("{base}/"), skip)
                .or_else(|| self.redirect(&format!("{base}.html"), base, skip))
        } else if let Some(base) = p.strip_suffix('/') {
            self.asset(&format!("{p}index.html"))
                .or_else(|| self.redirect(&format!("{base}.html"), base, skip))
        } else if let Some(base) = p.strip_suffix(".html") {
            self.redirect(p, base, skip)
                .or_else(|| self.redirect(&format!("{base}/index.html"), &format!("{base}/"), skip))
        } else {
            None
        };
        special
            .or_else(|| exact.map(|f| Intent::Asset(f, 200)))
            .or_else(|| self.asset(&format!("{p}.html")))
            .or_else(|| self.redirect(&format!("{p}/index.html"), &format!("{p}/"), skip))
            .or_else(|| self.not_found(p))
    }

    fn force_trailing_slash(&self, p: &str, skip: bool) -> Option<Intent> {
        let exact = self.exists(p);
        let special = if let Some(base) = p.strip_suffix("/index") {
            if let Some(f) = exact {
                return Some(Intent::Asset(f, 200));
            }
            self.redirect(&format!("{p}.html"), &format!("{base}/"), skip)
                .or_else(|| self.redirect(&format!("{base}.html"), &format!("{base}/"), skip))
        } else if let Some(base) = p.strip_suffix("/index.html") {
            self.redirect(p, &format!("{base}/"), skip)
                .or_else(|| self.redirect(&format!("{base}.html"), &format!("{base}/"), skip))
        } else if let Some(base) = p.strip_suffix('/') {
            self.asset(&format!("{p}index.html"))
                .or_else(|| self.asset(&format!("{base}.html")))
        } else if let Some(base) = p.strip_suffix(".html") {
            self.redirect(p, &format!("{base}/"), skip)
                // Both /foo.html and /foo/index.html exist: /foo.html stays reachable as is.
                .or_else(|| exact.clone().map(|f| Intent::Asset(f, 200)))
                .or_else(|| self.redirect(&format!("{base}/index.html"), &format!("{base}/"), skip))
        } else {
            None
        };
        special
            .or_else(|| exact.map(|f| Intent::Asset(f, 200)))
            .or_else(|| self.redirect(&format!("{p}.html"), &format!("{p}/"), skip))
            .or_else(|| self.redirect(&format!("{p}/index.html"), &format!("{p}/"), skip))
            .or_else(|| self.not_found(p))
    }

    fn drop_trailing_slash(&self, p: &str, skip: bool) -> Option<Intent> {
        let exact = self.exists(p);
        let special = if let Some(base) = p.strip_suffix("/index") {
            if let Some(f) = exact {
                return Some(Intent::Asset(f, 200));
            }
            if p == "/index" {
                self.redirect("/index.html", "/", skip)
            } else {
                self.redirect(&format!("{base}.html"), base, skip)
                    .or_else(|| self.redirect(&format!("{p}.html"), base, skip))
            }
        } else if let Some(base) = p.strip_suffix("/index.html") {
            // The root keeps its slash.
            if p == "/index.html" {
                self.redirect("/index.html", "/", skip)
            } else {
                self.redirect(p, base, skip)
                    // Both /foo.html and /foo/index.html exist: this one stays reachable as is.
                    .or_else(|| exact.clone().map(|f| Intent::Asset(f, 200)))
                    .or_else(|| self.redirect(&format!("{base}.html"), base, skip))
            }
        } else if let Some(base) = p.strip_suffix('/') {
            if p == "/" {
                self.asset("/index.html")
            } else {
                self.redirect(&format!("{base}.html"), base, skip)
                    .or_else(|| self.redirect(&format!("{base}/index.html"), base, skip))
            }
        } else if let Some(base) = p.strip_suffix(".html") {
            self.redirect(p, base, skip)
                .or_else(|| self.redirect(&format!("{base}/index.html"), base, skip))
        } else {
            None
        };
        special
            .or_else(|| exact.map(|f| Intent::Asset(f, 200)))
            .or_else(|| self.asset(&format!("{p}.html")))
            .or_else(|| self.asset(&format!("{p}/index.html")))
            .or_else(|| self.not_found(p))
    }

    fn not_found(&self, p: &str) -> Option<Intent> {
        match self.options.not_found_handling {
            NotFoundHandling::None => None,
            NotFoundHandling::SinglePageApplication => self.asset("/index.html"),
            NotFoundHandling::NotFoundPage => {
                let mut dir = p;
                while let Some(i) = dir.rfind('/') {
                    dir = &dir[..i];
                    if let Some(f) = self.exists(&format!("{dir}/404.html")) {
                        return Some(Intent::Asset(f, 404));
                    }
                }
                None
            }
        }
    }
}

/// Percent-decodes each segment as `decodeURIComponent` does (a segment that does not decode
/// to UTF-8 is kept as it was), then collapses runs of slashes.
fn decode_path(path: &str) -> String {
    let joined = path
        .split('/')
        .map(|seg| decode_segment(seg).unwrap_or_else(|| seg.to_string()))
        .collect::<Vec<_>>()
        .join("/");
    let mut out = String::with_capacity(joined.len());
    for c in joined.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    out
}

fn decode_segment(seg: &str) -> Option<String> {
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = seg.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Encodes each segment as `encodeURIComponent` does: everything but ASCII letters, digits and
/// `-_.!~*'()` is percent-encoded (upper-case hex).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b == b'/'
            || b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            )
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The `Content-Type` wrangler records for a file: the standard type for its extension, with
/// `charset=utf-8` for `text/*`, and `application/octet-stream` when the extension is unknown.
pub fn content_type(path: &Path) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .unwrap_or_default();
    let mime = mime_for(&ext).unwrap_or("application/octet-stream");
    if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

fn mime_for(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "html" | "htm" | "shtml" => "text/html",
        "css" => "text/css",
        "js" | "mjs" | "cjs" => "text/javascript",
        "json" | "map" => "application/json",
        "jsonld" => "application/ld+json",
        "webmanifest" => "application/manifest+json",
        "txt" | "text" | "conf" | "log" | "ini" => "text/plain",
        "md" | "markdown" => "text/markdown",
        "csv" => "text/csv",
        "tsv" => "text/tab-separated-values",
        "ics" => "text/calendar",
        "vtt" => "text/vtt",
        "xml" | "xsl" | "xsd" => "application/xml",
        "rss" => "application/rss+xml",
        "atom" => "application/atom+xml",
        "xhtml" => "application/xhtml+xml",
        "svg" | "svgz" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" | "jpe" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "avif" => "image/avif",
        "ico" => "image/vnd.microsoft.icon",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "apng" => "image/apng",
        "heic" => "image/heic",
        "jxl" => "image/jxl",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        "wasm" => "application/wasm",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "tar" => "application/x-tar",
        "7z" => "application/x-7z-compressed",
        "br" => "application/x-brotli",
        "bin" | "exe" | "dll" => "application/octet-stream",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "ogg" | "oga" => "audio/ogg",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "flac" => "audio/flac",
        "weba" => "audio/webm",
        "opus" => "audio/ogg",
        "mp4" | "m4v" => "video/mp4",
        "webm" => "video/webm",
        "ogv" => "video/ogg",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "mpeg" | "mpg" => "video/mpeg",
        "ts" => "video/mp2t",
        "yaml" | "yml" => "text/yaml",
        "toml" => "application/toml",
        "sh" => "application/x-sh",
        "rtf" => "application/rtf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "ppt" => "application/vnd.ms-powerpoint",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "epub" => "application/epub+zip",
        "swf" => "application/x-shockwave-flash",
        "glb" => "model/gltf-binary",
        "gltf" => "model/gltf+json",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding_and_encoding() {
        assert_eq!(decode_path("/caf%C3%A9.txt"), "/café.txt");
        assert_eq!(decode_path("/a%20b//c"), "/a b/c");
        assert_eq!(decode_path("/bad%zz/%C3"), "/bad%zz/%C3");
        assert_eq!(decode_path("/a%2Fb"), "/a/b");
        assert_eq!(encode_path("/café.txt"), "/caf%C3%A9.txt");
        assert_eq!(encode_path("/[x] y"), "/%5Bx%5D%20y");
        assert_eq!(encode_path("/a-b_c.d!~*'()"), "/a-b_c.d!~*'()");
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type(Path::new("a.CSS")), "text/css; charset=utf-8");
        assert_eq!(content_type(Path::new("a.json")), "application/json");
        assert_eq!(
            content_type(Path::new("README")),
            "application/octet-stream"
        );
    }

    #[test]
    fn fnv_is_stable() {
        let mut h = Fnv128::new();
        h.write(b"");
        assert_eq!(h.finish(), Fnv128::OFFSET);
        let mut h = Fnv128::new();
        h.write(b"a");
        assert_eq!(
            format!("{:032x}", h.finish()),
            "d228cb696f1a8caf78912b704e4a8964"
        );
    }
}
