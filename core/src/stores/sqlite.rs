//! A SQLite connection shared by a store's calls. SQLite blocks, so every call runs on tokio's
//! blocking pool, never on an executor thread.
use crate::api::host::HostError;
use rusqlite::Connection;
use std::path::Path;
use std::sync::{Arc, Mutex};

#[derive(Clone)]
pub(crate) struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Opens (creating as needed) the database at `path` and applies `schema`.
    pub fn open(path: &Path, schema: &str) -> Result<Db, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let conn = Connection::open(path)
            .and_then(|c| {
                c.pragma_update(None, "journal_mode", "wal")?;
                c.pragma_update(None, "synchronous", "normal")?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c.execute_batch(schema)?;
                Ok(c)
            })
            .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on the blocking pool.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, HostError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|_| HostError::new("storage task failed"))?
        .map_err(|e| HostError::new(format!("storage error: {e}")))
    }
}
