//! Turning files on disk into a `WorkerSource` and an `Env`.
//!
//! Module rules (a fixed subset of wrangler's defaults, no `rules` key yet):
//! - The main file is an ES module when it has `import`/`export` declarations (wrangler's
//!   detection); otherwise it is a service-worker script and is loaded alone, since such
//!   scripts cannot import anything.
//! - From an ES-module main, relative imports are followed (static `import`/`export ... from`
//!   and `import("...")` with a literal specifier), the way Miniflare collects modules: `.js`
//!   and `.mjs` load as ES modules, `.txt`/`.html` as text, `.json` as JSON and `.bin` as
//!   data. Only what is imported is loaded, so unrelated scripts or a `tsconfig.json` with
//!   comments beside the worker cannot break it.
//! - Files under the main file's directory tree that are not imported statically (targets of
//!   `import(variable)`) are not found this way; the engine reports such a module as missing when it is imported.
//! - Module names are paths relative to the project directory (the config file's directory, or
//!   the main file's directory without a config), with `/` separators, e.g. `src/index.js`.
use std::path::{Path, PathBuf};

use crate::engine::{Env, Module, ModuleType, WorkerSource, has_module_syntax};

use super::config::{Bindings, CONFIG_NAMES, WranglerConfig};

/// A bound on the import graph, so a pathological project fails clearly instead of slowly.
const MAX_FILES: usize = 5000;

/// Everything `serve` and `run` need to start a worker.
pub struct ProjectSpec {
    pub name: String,
    pub source: WorkerSource,
    pub env: Env,
    pub compatibility_date: Option<String>,
    pub compatibility_flags: Vec<String>,
    /// The bindings from the config (empty without one).
    pub bindings: Bindings,
    /// False for an assets-only project (no `main`): `source` is then a placeholder that the
    /// assets router never calls.
    pub has_worker: bool,
    pub warnings: Vec<String>,
    /// Where the main module lives on disk, for messages.
    pub main_path: PathBuf,
    /// The directory of the config file (or of the script without one).
    pub dir: PathBuf,
}

/// Builds a project from a config file, or from a bare script path.
pub fn load(config: Option<WranglerConfig>, script: Option<&Path>) -> Result<ProjectSpec, String> {
    if let Some(c) = config.as_ref()
        && script.is_none()
        && c.main.is_none()
        && c.bindings.assets.is_some()
    {
        return Ok(load_assets_only(config.expect("checked")));
    }
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
    let mut bindings = Bindings::default();
    if let Some(c) = config {
        bindings = c.bindings;
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
    Ok(ProjectSpec {
        name,
        source,
        env,
        compatibility_date,
        compatibility_flags,
        bindings,
        has_worker: true,
        warnings,
        main_path: main,
        dir,
    })
}

/// A project with `assets` and no `main`: Cloudflare serves the files alone. The engine still
/// gets a (never called) module so everything that expects a worker keeps working.
fn load_assets_only(c: WranglerConfig) -> ProjectSpec {
    let dir = c.dir();
    let name = c.name.clone().unwrap_or_else(|| "assets".into());
    let main_path = c
        .bindings
        .assets
        .as_ref()
        .map_or_else(|| dir.clone(), |a| a.directory.clone());
    ProjectSpec {
        name,
        source: WorkerSource::module(
            "export default { fetch() { return new Response(null, { status: 404 }); } };",
        ),
        env: Env::new(),
        compatibility_date: c.compatibility_date,
        compatibility_flags: c.compatibility_flags,
        bindings: c.bindings,
        has_worker: false,
        warnings: c.warnings,
        main_path,
        dir,
    }
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Resolves `.` and `..` lexically, as import specifiers are resolved (not through symlinks).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
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

/// Reads the main file and, for ES modules, every module it imports (transitively).
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
    let mut seen = std::collections::HashSet::new();
    seen.insert(main.canonicalize().unwrap_or_else(|_| main.to_path_buf()));
    // Breadth-first over the import graph; `paths[i]` is where `modules[i]` came from.
    let mut paths = vec![main.to_path_buf()];
    let mut next = 0;
    while next < modules.len() {
        let current = next;
        next += 1;
        if modules[current].kind != ModuleType::EsModule {
            continue;
        }
        let from_path = paths[current].clone();
        let from_name = modules[current].name.clone();
        let text = String::from_utf8_lossy(&modules[current].content).into_owned();
        for spec in import_specifiers(&text) {
            if !(spec.starts_with("./") || spec.starts_with("../")) {
                // `cloudflare:*` and `node:*` are runtime modules; anything else is a package.
                if !spec.contains(':') {
                    warnings.push(format!(
                        "{from_name} imports `{spec}`: npm packages are not resolved yet (bundle the worker first)"
                    ));
                }
                continue;
            }
            let target = normalize(&parent_dir(&from_path).join(&spec));
            let Some(kind) = kind_for(&target) else {
                warnings.push(format!(
                    "{from_name} imports `{spec}`: no module type for that extension"
                ));
                continue;
            };
            let canon = match target.canonicalize() {
                Ok(c) => c,
                Err(_) => continue, // the engine reports the missing module with its importer
            };
            if !seen.insert(canon) {
                continue;
            }
            if modules.len() >= MAX_FILES {
                return Err(format!(
                    "more than {MAX_FILES} modules imported from {}",
                    main.display()
                ));
            }
            let content = std::fs::read(&target)
                .map_err(|e| format!("cannot read {}: {e}", target.display()))?;
            modules.push(Module {
                name: module_name(&target, &dir),
                kind,
                content,
            });
            paths.push(target);
        }
    }
    Ok(WorkerSource {
        main_module: main_name,
        modules,
    })
}

/// The string specifiers of `import ... from "x"`, `import "x"`, `export ... from "x"` and
/// `import("x")` in JavaScript source. A light scanner, not a parser: comments, strings and
/// template literals are skipped so their contents are never mistaken for imports. A false
/// match costs nothing (a file that does not exist is ignored).
pub fn import_specifiers(src: &str) -> Vec<String> {
    #[derive(PartialEq)]
    enum Tok {
        Import,
        From,
        ImportParen,
        Other,
    }
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut last = Tok::Other;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
            continue;
        }
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'"' || c == b'\'' || c == b'`' {
            let start = i + 1;
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            let lit = &src[start..i.min(b.len())];
            i += 1;
            if c != b'`' && matches!(last, Tok::Import | Tok::From | Tok::ImportParen) {
                out.push(lit.to_string());
            }
            last = Tok::Other;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'$') {
                i += 1;
            }
            // `x.import` or `obj.from` are property names, not keywords.
            let after_dot = start > 0 && src[..start].trim_end().ends_with('.');
            last = match (&src[start..i], after_dot) {
                ("import", false) => Tok::Import,
                ("from", false) => Tok::From,
                _ => Tok::Other,
            };
            continue;
        }
        last = if c == b'(' && last == Tok::Import {
            Tok::ImportParen
        } else {
            Tok::Other
        };
        i += 1;
    }
    out
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
    fn imports_are_followed_and_named_relative_to_project() {
        let d = tmpdir("mod");
        std::fs::create_dir_all(d.join("src/lib")).unwrap();
        std::fs::write(
            d.join("src/index.js"),
            "import a from './lib/a.js';\nimport t from \"./lib/t.txt\";\nexport default {}",
        )
        .unwrap();
        std::fs::write(
            d.join("src/lib/a.js"),
            "export { x } from '../b.mjs'; import j from './d.json';\nconst m = () => import(\"./x.bin\");\nexport default 1",
        )
        .unwrap();
        std::fs::write(
            d.join("src/b.mjs"),
            "import a from './lib/a.js'; export const x = 1",
        )
        .unwrap();
        std::fs::write(d.join("src/lib/t.txt"), "hi").unwrap();
        std::fs::write(d.join("src/lib/d.json"), "{}").unwrap();
        std::fs::write(d.join("src/lib/x.bin"), [0u8, 1]).unwrap();
        // Not imported: never loaded, even though it would not compile.
        std::fs::write(d.join("src/lib/broken.js"), "export default {").unwrap();
        std::fs::write(d.join("tsconfig.json"), "{ // comments\n }").unwrap();
        let mut warnings = vec![];
        let s = load_source(&d.join("src/index.js"), &d, &mut warnings).unwrap();
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
                ("src/lib/t.txt", ModuleType::Text),
                ("src/b.mjs", ModuleType::EsModule),
                ("src/lib/d.json", ModuleType::Json),
                ("src/lib/x.bin", ModuleType::Data),
            ]
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn specifier_scanner() {
        let src = r#"
            import a, { b } from "./a.js";
            import './side.js'
            export * from "../re.js";
            export { c } from './c.js';
            // import "./commented.js";
            /* import "./block.js" */
            const s = "import './in-string.js'";
            const t = `from "./in-template.js"`;
            const lazy = await import( "./lazy.js" );
            const arr = Array.from("abc");
            obj.import("./not-a-keyword.js");
            import { connect } from "cloudflare:sockets";
        "#;
        assert_eq!(
            import_specifiers(src),
            vec![
                "./a.js",
                "./side.js",
                "../re.js",
                "./c.js",
                "./lazy.js",
                "cloudflare:sockets"
            ]
        );
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
