//! The READMEs' commands work as written. Every line of a fenced code block
//! in README.md, bench/README.md, docker/README.md and fuzz/README.md that
//! runs `cargo run`, `cargo fuzz run`, `cargo install --path` or
//! `dfs-gateway` is checked without building anything:
//! - `cargo run`: the package exists in the workspace and cargo can tell
//!   which binary to run (`--bin`, its only binary, or its `default-run`);
//!   when that binary is `dfs-gateway`, its arguments pass as below;
//! - `dfs-gateway ARGS`: the binary accepts `ARGS --help` (subcommand,
//!   flags and their values are parsed before the help is printed);
//! - `cargo fuzz run TARGET`: TARGET is a binary of fuzz/Cargo.toml;
//! - `cargo install --path DIR`: DIR holds a package with a binary.

use std::path::{Path, PathBuf};
use std::process::Command;

const READMES: &[&str] = &[
    "README.md",
    "bench/README.md",
    "docker/README.md",
    "fuzz/README.md",
];

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn manifest(dir: &str) -> toml::Table {
    let path = repo(dir).join("Cargo.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// A package of a manifest: its name, binaries and `default-run`.
struct Package {
    name: String,
    bins: Vec<String>,
    default_run: Option<String>,
}

fn package(dir: &str) -> Package {
    let toml = manifest(dir);
    let section = toml["package"].as_table().expect("[package]");
    let name = section["name"].as_str().unwrap().to_owned();
    let mut bins: Vec<String> = toml
        .get("bin")
        .and_then(|b| b.as_array())
        .map(|bins| {
            bins.iter()
                .map(|b| b["name"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    // Cargo's own discovery, when no [[bin]] names the file.
    let explicit = |path: &str| {
        toml.get("bin")
            .and_then(|b| b.as_array())
            .is_some_and(|bins| {
                bins.iter()
                    .any(|b| b.get("path").and_then(|p| p.as_str()) == Some(path))
            })
    };
    if repo(dir).join("src/main.rs").is_file() && !explicit("src/main.rs") {
        bins.push(name.clone());
    }
    if let Ok(entries) = std::fs::read_dir(repo(dir).join("src/bin")) {
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = file.strip_suffix(".rs") {
                if !explicit(&format!("src/bin/{file}")) {
                    bins.push(stem.to_owned());
                }
            }
        }
    }
    let default_run = section
        .get("default-run")
        .and_then(|d| d.as_str())
        .map(str::to_owned);
    Package {
        name,
        bins,
        default_run,
    }
}

/// The workspace's packages, and the one `cargo run` picks without `-p`.
fn workspace() -> (Vec<Package>, String) {
    let root = manifest(".");
    let workspace = root["workspace"].as_table().unwrap();
    let dirs = |key: &str| -> Vec<String> {
        workspace
            .get(key)
            .and_then(|m| m.as_array())
            .map(|m| m.iter().map(|d| d.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let packages: Vec<Package> = dirs("members").iter().map(|d| package(d)).collect();
    let default = dirs("default-members");
    assert_eq!(default.len(), 1, "`cargo run` needs -p with {default:?}");
    (packages, package(&default[0]).name)
}

/// The command lines of the fenced code blocks of `text`, continuation
/// lines joined.
fn code_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut fenced = false;
    let mut pending = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => pending.push_str(part),
            None => lines.push(std::mem::take(&mut pending) + line),
        }
    }
    lines
}

/// The words of the first command of a shell line: quotes removed, up to a
/// comment, pipe, redirection or command separator.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, '#') if word.is_empty() => break,
            (None, '|' | '>' | '<' | ';' | '&') => break,
            (None, ' ' | '\t') => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            (None, c) => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    // Leading VAR=value assignments are not the command.
    let skip = out
        .iter()
        .take_while(|w| {
            w.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty() && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            })
        })
        .count();
    out.split_off(skip)
}

/// `dfs-gateway ARGS --help`: Ok, or what it said.
fn gateway_accepts(args: &[String]) -> Result<(), String> {
    let out = Command::new(env!("CARGO_BIN_EXE_dfs-gateway"))
        .args(args)
        .arg("--help")
        .output()
        .expect("the binary runs");
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// `cargo run` with `args` (the words after `run`): Ok, or what is wrong.
fn cargo_run(args: &[String], packages: &[Package], default: &str) -> Result<(), String> {
    let (cargo_args, program_args) = match args.iter().position(|a| a == "--") {
        Some(at) => (&args[..at], &args[at + 1..]),
        None => (args, &[][..]),
    };
    let (mut package, mut bin) = (default.to_owned(), None);
    let mut rest = cargo_args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--release" | "--locked" | "--frozen" | "--offline" | "-q" | "--quiet" => {}
            "-p" | "--package" => package = rest.next().ok_or("-p without a package")?.clone(),
            "--bin" => bin = Some(rest.next().ok_or("--bin without a name")?.clone()),
            "--features" | "-F" | "--profile" => {
                rest.next();
            }
            other => {
                return Err(format!(
                    "cargo run flag {other:?} is not one this test knows"
                ))
            }
        }
    }
    let found = packages
        .iter()
        .find(|p| p.name == package)
        .ok_or_else(|| format!("no package {package} in the workspace"))?;
    let bin = match (bin, &found.default_run, found.bins.as_slice()) {
        (Some(bin), _, bins) if bins.contains(&bin) => bin,
        (Some(bin), _, bins) => return Err(format!("{package} has no binary {bin} ({bins:?})")),
        (None, Some(default), _) => default.clone(),
        (None, None, [only]) => only.clone(),
        (None, None, bins) => {
            return Err(format!(
                "`cargo run` could not determine which binary of {package} to run: {bins:?}, no default-run"
            ))
        }
    };
    if !found.bins.contains(&bin) {
        return Err(format!(
            "{package}: default-run {bin} is not one of its binaries"
        ));
    }
    if bin == "dfs-gateway" {
        gateway_accepts(program_args)?;
    }
    Ok(())
}

/// Checks one line; None when it runs none of the commands checked here.
fn check(words: &[String], packages: &[Package], default: &str) -> Option<Result<(), String>> {
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    Some(match words.as_slice() {
        ["dfs-gateway", args @ ..] => {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            gateway_accepts(&args)
        }
        ["cargo", "run", args @ ..] => {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            cargo_run(&args, packages, default)
        }
        ["cargo", "fuzz", "run", target, ..] => {
            let fuzz = manifest("fuzz");
            let bins = fuzz["bin"].as_array().unwrap();
            if bins.iter().any(|b| b["name"].as_str() == Some(target)) {
                Ok(())
            } else {
                Err(format!("fuzz/Cargo.toml has no target {target}"))
            }
        }
        ["cargo", "install", args @ ..] => {
            let at = args.iter().position(|a| *a == "--path")?;
            let dir = args.get(at + 1).copied().unwrap_or_default();
            if package(dir).bins.is_empty() {
                Err(format!("{dir} has no binary to install"))
            } else {
                Ok(())
            }
        }
        _ => return None,
    })
}

#[test]
fn every_documented_command_line_parses() {
    let (packages, default) = workspace();
    let mut checked = 0;
    let mut failures = Vec::new();
    for readme in READMES {
        let text = std::fs::read_to_string(repo(readme)).unwrap();
        for line in code_lines(&text) {
            if let Some(result) = check(&words(&line), &packages, &default) {
                checked += 1;
                if let Err(e) = result {
                    failures.push(format!("{readme}: {}\n  {e}", line.trim()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The README's demo, test, install and bench lines at least.
    assert!(checked >= 8, "only {checked} command lines found");
}

#[test]
fn the_checks_catch_a_broken_line() {
    let (packages, default) = workspace();
    let broken = [
        "cargo run --release -- demo --no-such-flag",
        "cargo run --release -- no-such-command",
        "cargo run -p no-such-package",
        "cargo run -p dfs-bench --bin no-such-bin",
        "dfs-gateway demo --listen not-an-address",
        "dfs-gateway check-config --config",
        "cargo fuzz run no_such_target",
    ];
    for line in broken {
        let result = check(&words(line), &packages, &default).expect(line);
        assert!(result.is_err(), "{line} passed");
    }
    let fine = "RUST_LOG=debug dfs-gateway demo --listen 127.0.0.1:9000 # a comment";
    assert_eq!(
        words(fine),
        ["dfs-gateway", "demo", "--listen", "127.0.0.1:9000"]
    );
    assert_eq!(check(&words(fine), &packages, &default), Some(Ok(())));
}
