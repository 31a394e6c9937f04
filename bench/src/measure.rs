//! One row: check that a target answers correctly, warm it up, load it with
//! wrk, and turn wrk's summary (plus the middle tier's CPU time) into figures.

use crate::error::{IoContext, Result};
use crate::objects::{self, SizeClass, MIB_F};
use crate::procs;
use crate::report::{Measured, Row};
use crate::wrk::{self, Load, Script, Summary};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Something to load: a server, the paths to ask it for, and the processes
/// whose CPU time counts as its cost (none for the storage node itself).
#[derive(Debug, Clone)]
pub struct Target {
    /// Row name.
    pub name: String,
    /// `http://127.0.0.1:port`.
    pub base: String,
    /// Request paths.
    pub paths: Vec<String>,
    /// Middle-tier processes.
    pub pids: Vec<u32>,
}

impl Target {
    /// A target named `name` at `base`.
    pub fn new(name: &str, base: &str, paths: Vec<String>, pids: Vec<u32>) -> Self {
        Target {
            name: name.into(),
            base: base.into(),
            paths,
            pids,
        }
    }
}

/// Shared settings of every measurement.
#[derive(Debug, Clone)]
pub struct Bench {
    /// The wrk binary.
    pub wrk: PathBuf,
    /// Where scripts go.
    pub work: PathBuf,
    /// The measured load.
    pub load: Load,
    /// Unmeasured load before it: fills caches and connection pools.
    pub warmup: Duration,
}

impl Bench {
    /// Measures `op` (`GET` or `PUT`) of `class`-sized objects on `target`;
    /// a target that fails its check or its run gives a row saying why.
    pub async fn row(&self, op: &'static str, target: &Target, class: &SizeClass) -> Row {
        eprintln!("dfs-bench: {op} {} {}", class.label, target.name);
        let measured = self.measure(op, target, class).await;
        let (measured, note) = match measured {
            Ok(m) => (Some(m), None),
            Err(e) => {
                eprintln!("dfs-bench:   failed: {e}");
                (None, Some(format!("FAILED: {e}")))
            }
        };
        Row {
            op,
            target: target.name.clone(),
            size: class.label.into(),
            size_bytes: class.size,
            measured,
            note,
        }
    }

    async fn measure(
        &self,
        op: &'static str,
        target: &Target,
        class: &SizeClass,
    ) -> Result<Measured> {
        check(op, target, class).await?;
        let script = Script {
            method: op,
            paths: target.paths.clone(),
            body_size: if op == "PUT" { class.size } else { 0 },
        };
        let path = self
            .work
            .join(format!("{op}-{}-{}.lua", target.name, class.label));
        std::fs::write(&path, wrk::script_text(&script))
            .context(|| format!("writing {}", path.display()))?;
        let warm = Load {
            duration: self.warmup,
            ..self.load
        };
        let warmup = wrk::run(&self.wrk, &target.base, &path, &warm).await?;
        let cpu_before = procs::cpu_ns_all(&target.pids);
        let summary = self.run(&target.base, &path).await?;
        let cpu_after = procs::cpu_ns_all(&target.pids);
        let cpu = cpu_before
            .zip(cpu_after)
            .filter(|_| !target.pids.is_empty());
        Ok(figures(&summary, warmup.errors(), class.size, cpu))
    }

    async fn run(&self, base: &str, script: &Path) -> Result<Summary> {
        wrk::run(&self.wrk, base, script, &self.load).await
    }
}

/// One request by hand first: a target answering wrongly (a 3xx, a short
/// body) would not show up as an error in wrk's counts.
async fn check(op: &str, target: &Target, class: &SizeClass) -> Result<()> {
    let client = crate::client();
    let url = format!("{}{}", target.base, target.paths[0]);
    match op {
        "PUT" => objects::put(&client, &url, class.size).await,
        _ => objects::get_exact(&client, &url, class.size).await,
    }
}

fn figures(s: &Summary, warmup_errors: u64, size: u64, cpu: Option<(u64, u64)>) -> Measured {
    let secs = (s.duration_us as f64 / 1e6).max(1e-9);
    let req_per_s = s.requests as f64 / secs;
    let cpu_us_per_req = cpu
        .filter(|_| s.requests > 0)
        .map(|(before, after)| after.saturating_sub(before) as f64 / 1e3 / s.requests as f64);
    Measured {
        req_per_s,
        mib_per_s: req_per_s * size as f64 / MIB_F,
        p50_ms: s.p50_us / 1e3,
        p99_ms: s.p99_us / 1e3,
        errors: s.errors() + warmup_errors,
        warmup_errors,
        cpu_us_per_req,
        wrk: *s,
    }
}
