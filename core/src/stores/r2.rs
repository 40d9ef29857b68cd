//! The embedded R2 bucket: each object's bytes in a file of its own, their metadata in a SQLite
//! index, under one directory.
//!
//! Bytes are written to `tmp/` and renamed into `blobs/` once complete (and synced), and only
//! then does the index refer to them, in a transaction that also evaluates `onlyIf`: a reader
//! sees the old object or the new one, never part of one, and a failed or abandoned upload
//! leaves the bucket as it was. A replaced object's file is deleted after the commit; a reader
//! that opened it before keeps reading it (POSIX keeps unlinked files readable).
use super::sqlite::Db;
use crate::api::body::{Body, BodyReader};
use crate::api::host::HostError;
use crate::api::r2::*;
use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS objects (
    key TEXT PRIMARY KEY,
    version TEXT NOT NULL,
    blob TEXT NOT NULL,
    size INTEGER NOT NULL,
    etag TEXT NOT NULL,
    uploaded REAL NOT NULL,
    http_metadata TEXT NOT NULL,
    custom_metadata TEXT NOT NULL,
    checksums TEXT NOT NULL,
    storage_class TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS uploads (
    upload_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    options TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS parts (
    upload_id TEXT NOT NULL,
    part_number INTEGER NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    blob TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;";

/// Bytes handed to a worker per chunk when it reads an object.
const READ_CHUNK: u64 = 256 * 1024;
/// Bytes gathered before a write (and its hashing) goes to the blocking pool.
const WRITE_BATCH: usize = 1024 * 1024;
/// Temporary files older than this are leftovers of a crash, removed when a bucket opens.
const STALE_TMP: Duration = Duration::from_secs(24 * 3600);

/// An R2 bucket kept under a directory: `index.sqlite`, `blobs/`, `tmp/`.
#[derive(Clone)]
pub struct FsR2 {
    db: Db,
    dir: PathBuf,
}

fn io_err(what: &str, e: std::io::Error) -> HostError {
    HostError::new(format!("{what}: {e}"))
}

fn random_hex() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("the OS random source works");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_millis() as f64)
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, HostError> + Send + 'static,
) -> Result<T, HostError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| HostError::new("storage task failed"))?
}

/// The smallest string above every string that starts with `prefix` (None: no bound).
fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The index row of an object.
struct Row {
    object: R2Object,
    blob: String,
}

const ROW_COLUMNS: &str = "key, version, blob, size, etag, uploaded, http_metadata, \
                           custom_metadata, checksums, storage_class";

fn read_row(r: &rusqlite::Row) -> rusqlite::Result<Row> {
    let parse = |i: usize| -> rusqlite::Result<serde_json::Value> {
        let text: String = r.get(i)?;
        Ok(serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
    };
    let custom = parse(7)?;
    Ok(Row {
        blob: r.get(2)?,
        object: R2Object {
            key: r.get(0)?,
            version: r.get(1)?,
            size: r.get::<_, i64>(3)? as u64,
            etag: r.get(4)?,
            uploaded: r.get(5)?,
            http_metadata: R2HttpMetadata::from_json(&parse(6)?),
            custom_metadata: custom
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default(),
            checksums: R2Checksums::from_json(&parse(8)?).unwrap_or_default(),
            storage_class: r.get(9)?,
        },
    })
}

fn select_row(c: &rusqlite::Connection, key: &str) -> rusqlite::Result<Option<Row>> {
    c.query_row(
        &format!("SELECT {ROW_COLUMNS} FROM objects WHERE key = ?1"),
        [key],
        read_row,
    )
    .optional()
}

fn insert_row(c: &rusqlite::Connection, o: &R2Object, blob: &str) -> rusqlite::Result<()> {
    c.execute(
        &format!(
            "INSERT OR REPLACE INTO objects ({ROW_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        ),
        params![
            o.key,
            o.version,
            blob,
            o.size as i64,
            o.etag,
            o.uploaded,
            o.http_metadata.to_json().to_string(),
            serde_json::json!(o.custom_metadata).to_string(),
            o.checksums.to_json().to_string(),
            o.storage_class,
        ],
    )
    .map(drop)
}

/// A file being written in `tmp/`, hashed as it goes.
struct Upload {
    file: File,
    hasher: R2Hasher,
    size: u64,
}

/// An object's bytes (from `offset`, `remaining` of them) read a chunk at a time.
struct FileBody {
    file: Option<File>,
    remaining: u64,
}

#[async_trait]
impl BodyReader for FileBody {
    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, HostError> {
        if self.remaining == 0 {
            self.file = None;
            return Ok(None);
        }
        let Some(mut file) = self.file.take() else {
            return Ok(None);
        };
        let n = self.remaining.min(READ_CHUNK);
        let (file, chunk) = blocking(move || {
            let mut buf = vec![0u8; n as usize];
            file.read_exact(&mut buf)
                .map_err(|e| io_err("cannot read the object", e))?;
            Ok((file, buf))
        })
        .await?;
        self.remaining -= n;
        self.file = Some(file);
        Ok(Some(chunk))
    }
}

impl FsR2 {
    /// Opens (creating as needed) the bucket kept under `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<FsR2, String> {
        let dir = dir.as_ref().to_path_buf();
        for sub in ["blobs", "tmp"] {
            let d = dir.join(sub);
            std::fs::create_dir_all(&d)
                .map_err(|e| format!("cannot create {}: {e}", d.display()))?;
        }
        // Leftovers of a crash mid-upload; recent ones may belong to another process's upload.
        if let Ok(entries) = std::fs::read_dir(dir.join("tmp")) {
            for e in entries.flatten() {
                let stale = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > STALE_TMP);
                if stale {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        let db = Db::open(&dir.join("index.sqlite"), SCHEMA)?;
        Ok(FsR2 { db, dir })
    }

    fn blob_path(&self, blob: &str) -> PathBuf {
        self.dir.join("blobs").join(blob)
    }

    /// Writes `body` to a new blob: to `tmp/`, synced, then renamed into `blobs/`. Returns the
    /// blob's name, size and checksums (verified against `expected`). On any error nothing is
    /// left behind.
    async fn write_blob(
        &self,
        body: Body,
        expected: &R2Checksums,
    ) -> Result<(String, u64, R2Checksums), HostError> {
        let name = random_hex();
        let tmp = self.dir.join("tmp").join(&name);
        let done = self.blob_path(&name);
        match write_file(body, expected, tmp.clone(), done).await {
            Ok((size, checksums)) => Ok((name, size, checksums)),
            Err(e) => {
                let _ = blocking(move || Ok(std::fs::remove_file(tmp))).await;
                Err(e)
            }
        }
    }

    /// Removes blob files after the index stopped referring to them (errors are harmless:
    /// the file is garbage either way).
    fn remove_blobs(&self, blobs: impl IntoIterator<Item = String>) {
        for b in blobs {
            let _ = std::fs::remove_file(self.blob_path(&b));
        }
    }

    /// Runs `f` on the index (on the blocking pool) and flattens its own error.
    async fn index<T: Send + 'static>(
        &self,
        f: impl FnOnce(&FsR2, &mut rusqlite::Connection) -> rusqlite::Result<Result<T, HostError>>
        + Send
        + 'static,
    ) -> Result<T, HostError> {
        let me = self.clone();
        self.db.run(move |c| f(&me, c)).await?
    }
}

async fn write_file(
    mut body: Body,
    expected: &R2Checksums,
    tmp: PathBuf,
    done: PathBuf,
) -> Result<(u64, R2Checksums), HostError> {
    let file = {
        let tmp = tmp.clone();
        blocking(move || File::create(&tmp).map_err(|e| io_err("cannot create the object", e)))
            .await?
    };
    let mut up = Upload {
        file,
        hasher: R2Hasher::new(expected),
        size: 0,
    };
    let mut batch: Vec<u8> = Vec::new();
    loop {
        let chunk = body.next_chunk().await?;
        let last = chunk.is_none();
        if let Some(c) = chunk {
            if batch.is_empty() {
                batch = c;
            } else {
                batch.extend_from_slice(&c);
            }
        }
        if batch.len() >= WRITE_BATCH || (last && !batch.is_empty()) {
            let data = std::mem::take(&mut batch);
            // Hashing and writing happen off the executor thread.
            up = blocking(move || {
                up.hasher.update(&data);
                up.file
                    .write_all(&data)
                    .map_err(|e| io_err("cannot write the object", e))?;
                up.size += data.len() as u64;
                Ok(up)
            })
            .await?;
        }
        if last {
            break;
        }
    }
    blocking(move || {
        let checksums = up.hasher.finish()?;
        up.file
            .sync_data()
            .map_err(|e| io_err("cannot write the object", e))?;
        drop(up.file);
        std::fs::rename(&tmp, &done).map_err(|e| io_err("cannot store the object", e))?;
        Ok((up.size, checksums))
    })
    .await
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn encode_cursor(bound: &str) -> String {
    hex(bound.as_bytes())
}

fn decode_cursor(cursor: &str) -> Option<String> {
    let bytes: Option<Vec<u8>> = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// The successor of `key` in byte order: where a listing continues after it.
fn after(key: &str) -> String {
    format!("{key}\0")
}

fn size_mismatch(declared: u64, got: u64) -> HostError {
    HostError::new(format!(
        "The body was {got} bytes long, not the {declared} bytes declared."
    ))
}

#[async_trait]
impl R2Store for FsR2 {
    async fn head(&self, key: &str) -> Result<Option<R2Object>, HostError> {
        let key = key.to_string();
        self.index(move |_, c| Ok(Ok(select_row(c, &key)?.map(|r| r.object))))
            .await
    }

    async fn get(&self, key: &str, options: R2GetOptions) -> Result<R2GetResult, HostError> {
        let key = key.to_string();
        self.index(move |me, c| {
            // The file is opened under the index lock, so a concurrent overwrite cannot delete
            // it in between; another process might, hence the retry.
            for _ in 0..3 {
                let Some(row) = select_row(c, &key)? else {
                    return Ok(Ok(R2GetResult::NotFound));
                };
                let o = &row.object;
                if let Some(cond) = &options.only_if
                    && !cond.holds(Some((&o.etag, o.uploaded)))
                {
                    return Ok(Ok(R2GetResult::PreconditionFailed(row.object)));
                }
                let range = match options.range {
                    Some(r) => match r.resolve(o.size) {
                        Ok(r) => r,
                        Err(e) => return Ok(Err(e)),
                    },
                    None => R2Range {
                        offset: 0,
                        length: o.size,
                    },
                };
                let mut file = match File::open(me.blob_path(&row.blob)) {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Ok(Err(io_err("cannot open the object", e))),
                };
                if let Err(e) = file.seek(SeekFrom::Start(range.offset)) {
                    return Ok(Err(io_err("cannot read the object", e)));
                }
                return Ok(Ok(R2GetResult::Found {
                    object: row.object,
                    range,
                    body: Box::new(FileBody {
                        file: Some(file),
                        remaining: range.length,
                    }),
                }));
            }
            Ok(Err(HostError::new(
                "the object changed repeatedly while it was opened",
            )))
        })
        .await
    }

    async fn put(
        &self,
        key: &str,
        body: Body,
        options: R2PutOptions,
    ) -> Result<Option<R2Object>, HostError> {
        let (blob, size, checksums) = self.write_blob(body, &options.checksums).await?;
        if size != options.size {
            self.remove_blobs([blob]);
            return Err(size_mismatch(options.size, size));
        }
        let object = R2Object {
            key: key.to_string(),
            version: random_hex(),
            size,
            etag: hex(checksums.md5.as_deref().unwrap_or_default()),
            uploaded: now_ms(),
            http_metadata: options.http_metadata,
            custom_metadata: options.custom_metadata,
            checksums,
            storage_class: options.storage_class,
        };
        let only_if = options.only_if;
        self.index(move |me, c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current = select_row(&tx, &object.key)?;
            if let Some(cond) = &only_if
                && !cond.holds(
                    current
                        .as_ref()
                        .map(|r| (r.object.etag.as_str(), r.object.uploaded)),
                )
            {
                drop(tx);
                me.remove_blobs([blob]);
                return Ok(Ok(None));
            }
            insert_row(&tx, &object, &blob)?;
            tx.commit()?;
            me.remove_blobs(current.map(|r| r.blob));
            Ok(Ok(Some(object)))
        })
        .await
    }

    async fn delete(&self, keys: &[String]) -> Result<(), HostError> {
        let keys = keys.to_vec();
        self.index(move |me, c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut gone = Vec::new();
            for k in &keys {
                if let Some(row) = select_row(&tx, k)? {
                    tx.execute("DELETE FROM objects WHERE key = ?1", [k])?;
                    gone.push(row.blob);
                }
            }
            tx.commit()?;
            me.remove_blobs(gone);
            Ok(Ok(()))
        })
        .await
    }

    async fn list(&self, options: R2ListOptions) -> Result<R2Objects, HostError> {
        self.index(move |_, c| {
            let limit = options.limit.clamp(1, 1000);
            let prefix = options.prefix.as_str();
            let end = prefix_end(prefix);
            // The inclusive lower bound of what is left to list.
            let mut bound = prefix.to_string();
            for b in [
                options.start_after.as_deref().map(after),
                options.cursor.as_deref().and_then(decode_cursor),
            ]
            .into_iter()
            .flatten()
            {
                if b > bound {
                    bound = b;
                }
            }
            let mut out = R2Objects::default();
            let mut count = 0;
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ROW_COLUMNS} FROM objects WHERE key >= ?1 AND (?2 IS NULL OR key < ?2)
                 ORDER BY key LIMIT 256"
            ))?;
            'pages: loop {
                let rows = stmt
                    .query_map(params![bound, end], read_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                if rows.is_empty() {
                    break;
                }
                for row in rows {
                    if count == limit {
                        out.truncated = true;
                        break 'pages;
                    }
                    count += 1;
                    let key = row.object.key.clone();
                    let rest = &key[prefix.len()..];
                    if let Some(d) = options.delimiter.as_deref()
                        && let Some(i) = rest.find(d)
                    {
                        let p = key[..prefix.len() + i + d.len()].to_string();
                        match prefix_end(&p) {
                            Some(next) => bound = next,
                            None => {
                                out.delimited_prefixes.push(p);
                                break 'pages;
                            }
                        }
                        out.delimited_prefixes.push(p);
                        // Skip the rest of the rolled-up keys: query again from past them.
                        continue 'pages;
                    }
                    bound = after(&key);
                    let mut o = row.object;
                    if !options.include_http_metadata {
                        o.http_metadata = R2HttpMetadata::default();
                    }
                    if !options.include_custom_metadata {
                        o.custom_metadata = BTreeMap::new();
                    }
                    out.objects.push(o);
                }
            }
            if out.truncated {
                out.cursor = Some(encode_cursor(&bound));
            }
            Ok(Ok(out))
        })
        .await
    }

    async fn create_multipart_upload(
        &self,
        key: &str,
        options: R2MultipartOptions,
    ) -> Result<String, HostError> {
        let key = key.to_string();
        let id = random_hex();
        let upload_id = id.clone();
        self.index(move |_, c| {
            c.execute(
                "INSERT INTO uploads (upload_id, key, options) VALUES (?1, ?2, ?3)",
                params![upload_id, key, options.to_json().to_string()],
            )?;
            Ok(Ok(()))
        })
        .await?;
        Ok(id)
    }

    async fn upload_part(
        &self,
        key: &str,
        upload_id: &str,
        part_number: u32,
        body: Body,
        size: u64,
    ) -> Result<R2UploadedPart, HostError> {
        let (key, upload_id) = (key.to_string(), upload_id.to_string());
        let exists = {
            let (key, upload_id) = (key.clone(), upload_id.clone());
            move |c: &rusqlite::Connection| -> rusqlite::Result<bool> {
                Ok(c.query_row(
                    "SELECT 1 FROM uploads WHERE upload_id = ?1 AND key = ?2",
                    params![upload_id, key],
                    |_| Ok(()),
                )
                .optional()?
                .is_some())
            }
        };
        let check = exists.clone();
        if !self.index(move |_, c| Ok(Ok(check(c)?))).await? {
            return Err(errors::no_such_upload());
        }
        let (blob, got, checksums) = self.write_blob(body, &R2Checksums::default()).await?;
        if got != size {
            self.remove_blobs([blob]);
            return Err(size_mismatch(size, got));
        }
        let etag = hex(checksums.md5.as_deref().unwrap_or_default());
        let part_etag = etag.clone();
        self.index(move |me, c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            // Aborted (or completed) while the part was uploading.
            if !exists(&tx)? {
                drop(tx);
                me.remove_blobs([blob]);
                return Ok(Err(errors::no_such_upload()));
            }
            let old: Option<String> = tx
                .query_row(
                    "SELECT blob FROM parts WHERE upload_id = ?1 AND part_number = ?2",
                    params![upload_id, part_number],
                    |r| r.get(0),
                )
                .optional()?;
            tx.execute(
                "INSERT OR REPLACE INTO parts (upload_id, part_number, etag, size, blob)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![upload_id, part_number, part_etag, got as i64, blob],
            )?;
            tx.commit()?;
            me.remove_blobs(old);
            Ok(Ok(()))
        })
        .await?;
        Ok(R2UploadedPart { part_number, etag })
    }

    async fn complete_multipart_upload(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<R2UploadedPart>,
    ) -> Result<R2Object, HostError> {
        let (key, upload_id) = (key.to_string(), upload_id.to_string());
        // 1. Check the parts against R2's rules.
        let (id, k) = (upload_id.clone(), key.clone());
        let (options, chosen) = self
            .index(move |_, c| {
                let options: Option<String> = c
                    .query_row(
                        "SELECT options FROM uploads WHERE upload_id = ?1 AND key = ?2",
                        params![id, k],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(options) = options else {
                    return Ok(Err(errors::no_such_upload()));
                };
                let mut stmt = c.prepare(
                    "SELECT part_number, etag, size, blob FROM parts WHERE upload_id = ?1",
                )?;
                let stored: BTreeMap<u32, (String, u64, String)> = stmt
                    .query_map([&id], |r| {
                        Ok((
                            r.get::<_, u32>(0)?,
                            (r.get(1)?, r.get::<_, i64>(2)? as u64, r.get(3)?),
                        ))
                    })?
                    .collect::<rusqlite::Result<_>>()?;
                let mut wanted = parts;
                wanted.sort_by_key(|p| p.part_number);
                wanted.dedup_by_key(|p| p.part_number);
                if wanted.is_empty() {
                    return Ok(Err(errors::bad_upload()));
                }
                let mut chosen = Vec::new();
                for p in &wanted {
                    match stored.get(&p.part_number) {
                        Some((etag, size, blob)) if *etag == p.etag => {
                            chosen.push((etag.clone(), *size, blob.clone()))
                        }
                        _ => return Ok(Err(errors::invalid_part())),
                    }
                }
                let (last, rest) = chosen.split_last().expect("at least one part");
                if rest.iter().any(|p| p.1 < MIN_PART_SIZE) {
                    return Ok(Err(errors::entity_too_small()));
                }
                if let Some(first) = rest.first()
                    && (rest.iter().any(|p| p.1 != first.1) || last.1 > first.1)
                {
                    return Ok(Err(errors::bad_upload()));
                }
                Ok(Ok((options, chosen)))
            })
            .await?;
        // 2. Join the parts into a new blob.
        let name = random_hex();
        let tmp = self.dir.join("tmp").join(&name);
        let done = self.blob_path(&name);
        let sources: Vec<PathBuf> = chosen.iter().map(|p| self.blob_path(&p.2)).collect();
        let joined = {
            let tmp = tmp.clone();
            blocking(move || {
                let mut out =
                    File::create(&tmp).map_err(|e| io_err("cannot create the object", e))?;
                let mut size = 0;
                for src in &sources {
                    let mut f = File::open(src).map_err(|e| io_err("cannot read a part", e))?;
                    size += std::io::copy(&mut f, &mut out)
                        .map_err(|e| io_err("cannot write the object", e))?;
                }
                out.sync_data()
                    .map_err(|e| io_err("cannot write the object", e))?;
                drop(out);
                std::fs::rename(&tmp, &done).map_err(|e| io_err("cannot store the object", e))?;
                Ok(size)
            })
            .await
        };
        let size = match joined {
            Ok(size) => size,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        let md5s: Vec<Vec<u8>> = chosen
            .iter()
            .map(|p| {
                (0..p.0.len())
                    .step_by(2)
                    .filter_map(|i| u8::from_str_radix(p.0.get(i..i + 2)?, 16).ok())
                    .collect()
            })
            .collect();
        let options = R2MultipartOptions::from_json(
            &serde_json::from_str(&options).unwrap_or(serde_json::Value::Null),
        );
        let object = R2Object {
            key,
            version: random_hex(),
            size,
            etag: multipart_etag(&md5s),
            uploaded: now_ms(),
            http_metadata: options.http_metadata,
            custom_metadata: options.custom_metadata,
            checksums: R2Checksums::default(),
            storage_class: options.storage_class,
        };
        // 3. Commit, unless the upload went away meanwhile.
        self.index(move |me, c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let live = tx
                .query_row(
                    "SELECT 1 FROM uploads WHERE upload_id = ?1",
                    [&upload_id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
            if !live {
                drop(tx);
                me.remove_blobs([name]);
                return Ok(Err(errors::no_such_upload()));
            }
            let current = select_row(&tx, &object.key)?;
            let mut stmt = tx.prepare("SELECT blob FROM parts WHERE upload_id = ?1")?;
            let part_blobs: Vec<String> = stmt
                .query_map([&upload_id], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            drop(stmt);
            insert_row(&tx, &object, &name)?;
            tx.execute("DELETE FROM parts WHERE upload_id = ?1", [&upload_id])?;
            tx.execute("DELETE FROM uploads WHERE upload_id = ?1", [&upload_id])?;
            tx.commit()?;
            me.remove_blobs(part_blobs.into_iter().chain(current.map(|r| r.blob)));
            Ok(Ok(object))
        })
        .await
    }

    async fn abort_multipart_upload(&self, key: &str, upload_id: &str) -> Result<(), HostError> {
        let (key, upload_id) = (key.to_string(), upload_id.to_string());
        self.index(move |me, c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut stmt = tx.prepare(
                "SELECT p.blob FROM parts p JOIN uploads u ON u.upload_id = p.upload_id
                 WHERE u.upload_id = ?1 AND u.key = ?2",
            )?;
            let blobs: Vec<String> = stmt
                .query_map(params![upload_id, key], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            drop(stmt);
            let n = tx.execute(
                "DELETE FROM uploads WHERE upload_id = ?1 AND key = ?2",
                params![upload_id, key],
            )?;
            if n > 0 {
                tx.execute("DELETE FROM parts WHERE upload_id = ?1", [&upload_id])?;
            }
            tx.commit()?;
            me.remove_blobs(blobs);
            Ok(Ok(()))
        })
        .await
    }
}
