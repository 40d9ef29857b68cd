//! Turning files on disk into a `WorkerSource` and an `Env`.
//!
//! Module rules (a fixed subset of wrangler's defaults, no `rules` key yet):
//! - The main file is an ES module when it has `import`/`export` declarations (wrangler's
//!   detection); otherwise it is a service-worker script and is loaded alone, since such
//!   scripts cannot import anything.
//! - For an ES-module main, every file under the main file's directory tree is loaded so
//!   relative imports resolve without a bundler: `.js`/`.mjs` as ES modules, `.txt`/`.html` as
//!   text, `.json` as JSON and `.bin` as data. `node_modules` and dot-directories are skipped.
//! - Module names are paths relative to the project directory (the config file's directory, or
//!   the main file's directory without a config), with `/` separators, e.g. `src/index.js`.
use std::path::{Path, PathBuf};

use worker_core::engine::{Env, Module, ModuleType, WorkerSource, has_module_syntax};

use crate::config::{CONFIG_NAMES, WranglerConfig};

/// Stop walking after this many files: a worker that large is almost certainly a mistake
/// (`main` pointing at a home directory), and reading it all would look like a hang.
const MAX_FILES: usize = 5000;

/// Everything `serve` and `run` need to start a worker.
pub struct Project {
    pub name: String,
    pub source: WorkerSource,
    pub env: Env,
    pub compatibility_date: Option<String>,
    pub compatibility_flags: Vec<String>,
    pub warnings: Vec<String>,
    /// Where the main module lives on disk, for messages.
    pub main_path: PathBuf,
}

/// Builds a project from a config file, or from a bare script path.
pub fn load(config: Option<WranglerConfig>, script: Option<&Path>) -> Result<Project, String> {
    let (main, dir) = match (&config, script) {
        // An explicit script wins over `main`, like `wrangler dev script.js --config ...`.
        (Some(c), Some(s)) => (s.to_path_buf(), c.dir()),
        (Some(c), None) => match &c.main {
            Some(m) => (m.clone(), c.dir()),
            None => {
                return Err(format!(
                    "{}: no `main` entry; set `main` to the worker's script",
                    c.path.display()
                ));
            }
        },
        (None, Some(s)) => (s.to_path_buf(), parent_dir(s)),
        (None, None) => return Err("no worker script given".into()),
    };

    let mut warnings = Vec::new();
    let mut env = Env::new();
    let mut name = None;
    let mut compatibility_date = None;
    let mut compatibility_flags = Vec::new();
    if let Some(c) = config {
        for (k, v) in c.text_vars {
            env.vars.insert(k, v);
        }
        for (k, v) in c.json_vars {
            env.json.insert(k, v);
        }
        warnings.extend(c.warnings);
        name = c.name;
        compatibility_date = c.compatibility_date;
        compatibility_flags = c.compatibility_flags;
    }
    // `.dev.vars` holds local secrets, as with `wrangler dev`; they override vars of the same
    // name there too.
    let dev_vars = dir.join(".dev.vars");
    if dev_vars.is_file() {
        let text = std::fs::read_to_string(&dev_vars)
            .map_err(|e| format!("cannot read {}: {e}", dev_vars.display()))?;
        for (k, v) in parse_dotenv(&text) {
            env.vars.remove(&k);
            env.json.remove(&k);
            env.secrets.insert(k, v);
        }
    }

    let source = load_source(&main, &dir, &mut warnings)?;
    let name = name.unwrap_or_else(|| {
        main.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "worker".into())
    });
    Ok(Project {
        name,
        source,
        env,
        compatibility_date,
        compatibility_flags,
        warnings,
        main_path: main,
    })
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `a/b/c.js` relative to `dir`, with forward slashes; falls back to the file name when the
/// file is outside `dir`.
fn module_name(file: &Path, dir: &Path) -> String {
    let rel = file
        .strip_prefix(dir)
        .ok()
        .map(Path::to_path_buf)
        .or_else(|| {
            // Paths may differ only by `./` or symlinks; compare canonical forms.
            let f = file.canonicalize().ok()?;
            let d = dir.canonicalize().ok()?;
            f.strip_prefix(&d).ok().map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from(file.file_name().unwrap_or_default()));
    rel.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads the main file and, for ES modules, its sibling modules.
pub fn load_source(
    main: &Path,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<WorkerSource, String> {
    let code = std::fs::read(main).map_err(|e| format!("cannot read {}: {e}", main.display()))?;
    let code = String::from_utf8(code)
        .map_err(|_| format!("{}: the script is not valid UTF-8", main.display()))?;
    if matches!(
        main.extension().and_then(|e| e.to_str()),
        Some("ts" | "mts" | "tsx")
    ) {
        warnings.push(format!(
            "{}: TypeScript is not supported yet; the file is loaded as JavaScript",
            main.display()
        ));
    }
    // A module-syntax main whose directory is outside the project (`main = "../x.js"`) still
    // needs names relative to something stable: use its own directory then.
    let dir = if main.starts_with(dir)
        || main
            .canonicalize()
            .ok()
            .zip(dir.canonicalize().ok())
            .is_some_and(|(m, d)| m.starts_with(d))
    {
        dir.to_path_buf()
    } else {
        parent_dir(main)
    };
    let main_name = module_name(main, &dir);

    if !has_module_syntax(&code) {
        return Ok(WorkerSource {
            main_module: main_name.clone(),
            modules: vec![Module {
                name: main_name,
                kind: ModuleType::Script,
                content: code.into_bytes(),
            }],
        });
    }

    let mut modules = vec![Module {
        name: main_name.clone(),
        kind: ModuleType::EsModule,
        content: code.into_bytes(),
    }];
    let mut files = Vec::new();
    walk(&parent_dir(main), &mut files, warnings)?;
    files.sort();
    let main_canon = main.canonicalize().ok();
    for f in files {
        if f.canonicalize().ok() == main_canon {
            continue;
        }
        let Some(kind) = kind_for(&f) else { continue };
        let content = std::fs::read(&f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        modules.push(Module {
            name: module_name(&f, &dir),
            kind,
            content,
        });
    }
    Ok(WorkerSource {
        main_module: main_name,
        modules,
    })
}

fn kind_for(path: &Path) -> Option<ModuleType> {
    let file = path.file_name()?.to_str()?;
    if CONFIG_NAMES.contains(&file) {
        return None;
    }
    match path.extension()?.to_str()? {
        "js" | "mjs" => Some(ModuleType::EsModule),
        "txt" | "html" => Some(ModuleType::Text),
        "json" => Some(ModuleType::Json),
        "bin" => Some(ModuleType::Data),
        _ => None,
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>, warnings: &mut Vec<String>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        let path = entry.path();
        let fname = entry.file_name();
        let fname = fname.to_string_lossy();
        // file_type() does not follow symlinks, so a link cycle cannot trap the walk.
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if fname.starts_with('.') || fname == "node_modules" {
                continue;
            }
            walk(&path, out, warnings)?;
        } else if ft.is_file() || (ft.is_symlink() && path.is_file()) {
            if out.len() >= MAX_FILES {
                warnings.push(format!(
                    "more than {MAX_FILES} files under {}; the rest are not loaded as modules",
                    dir.display()
                ));
                return Ok(());
            }
            out.push(path);
        }
    }
    Ok(())
}

/// A small `.env` reader: `KEY=VALUE` lines, `#` comments, optional `export `, and values in
/// single or double quotes (double quotes understand `\n`).
pub fn parse_dotenv(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let k = k.trim().to_string();
        let v = v.trim();
        let v = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
            v[1..v.len() - 1].replace("\\n", "\n").replace("\\\"", "\"")
        } else if v.len() >= 2 && v.starts_with('\'') && v.ends_with('\'') {
            v[1..v.len() - 1].to_string()
        } else {
            // Unquoted values may carry a trailing comment.
            match v.find(" #") {
                Some(i) => v[..i].trim_end().to_string(),
                None => v.to_string(),
            }
        };
        out.push((k, v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("wk-project-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn service_worker_is_loaded_alone() {
        let d = tmpdir("sw");
        std::fs::write(d.join("w.js"), "addEventListener('fetch', e => {})").unwrap();
        std::fs::write(d.join("other.js"), "export default 1").unwrap();
        let s = load_source(&d.join("w.js"), &d, &mut vec![]).unwrap();
        assert_eq!(s.main_module, "w.js");
        assert_eq!(s.modules.len(), 1);
        assert_eq!(s.modules[0].kind, ModuleType::Script);
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn modules_named_relative_to_project() {
        let d = tmpdir("mod");
        std::fs::create_dir_all(d.join("src/lib")).unwrap();
        std::fs::create_dir_all(d.join("src/node_modules/x")).unwrap();
        std::fs::write(
            d.join("src/index.js"),
            "import a from './lib/a.js';\nexport default {}",
        )
        .unwrap();
        std::fs::write(d.join("src/lib/a.js"), "export default 1").unwrap();
        std::fs::write(d.join("src/lib/t.txt"), "hi").unwrap();
        std::fs::write(d.join("src/lib/d.json"), "{}").unwrap();
        std::fs::write(d.join("src/lib/x.bin"), [0u8, 1]).unwrap();
        std::fs::write(d.join("src/lib/readme.md"), "no").unwrap();
        std::fs::write(d.join("src/node_modules/x/i.js"), "no").unwrap();
        let s = load_source(&d.join("src/index.js"), &d, &mut vec![]).unwrap();
        assert_eq!(s.main_module, "src/index.js");
        let names: Vec<_> = s
            .modules
            .iter()
            .map(|m| (m.name.as_str(), m.kind))
            .collect();
        assert_eq!(
            names,
            vec![
                ("src/index.js", ModuleType::EsModule),
                ("src/lib/a.js", ModuleType::EsModule),
                ("src/lib/d.json", ModuleType::Json),
                ("src/lib/t.txt", ModuleType::Text),
                ("src/lib/x.bin", ModuleType::Data),
            ]
        );
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn dotenv() {
        let v = parse_dotenv("# c\nA=1\nexport B = \"x\\ny\"\nC='q # r' \nD=v # note\n");
        assert_eq!(
            v,
            vec![
                ("A".into(), "1".into()),
                ("B".into(), "x\ny".into()),
                ("C".into(), "q # r".into()),
                ("D".into(), "v".into())
            ]
        );
    }
}
