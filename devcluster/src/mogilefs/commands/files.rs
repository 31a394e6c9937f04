//! `create_open`, `create_close` and `get_paths`: the commands that involve
//! storage nodes.

use super::{check_domain, refuse, refuse_with, Outcome};
use crate::mogilefs::meta::TempFile;
use crate::mogilefs::random;
use crate::mogilefs::state::Shared;
use crate::mogilefs::topology::DeviceState;
use dfs_protocol::mogilefs::cmd::{CreateClose, CreateOpen, Destination, GetPaths, OpenFile};
use dfs_protocol::mogilefs::{Args, Command, Reply};

/// Reserves a fid and destination devices (up to 3 with `multi_dest`).
pub(super) fn create_open(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let open = CreateOpen::from_args(args).map_err(refuse)?;
    // `fid=0` or none means "allocate"; any other number is taken as is.
    let explicit = args
        .get("fid")
        .and_then(|f| f.parse().ok())
        .filter(|f| *f > 0);
    let count = if open.multi_dest { 3 } else { 1 };
    let mut meta = shared.meta();
    let (fid, devids) = meta
        .open(&domain, open.class.as_deref(), explicit, count, open.size)
        .map_err(refuse)?;
    let destinations = devids
        .iter()
        .filter_map(|&devid| {
            let path = meta.topology.url(devid, fid)?;
            Some(Destination { devid, path })
        })
        .collect();
    let reply = OpenFile {
        fid,
        destinations,
        multi_dest: open.multi_dest,
    };
    Ok(CreateOpen::reply_args(&reply))
}

/// Commits an upload: checks, size verification by HEAD, then the key
/// points at the new file (any previous file of the key is deleted) and
/// replication starts. After the temp file row is taken, every failure
/// deletes the uploaded data, so nothing is left orphaned.
pub(super) async fn create_close(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let close = CreateClose::from_args(args).map_err(refuse)?;
    let checksum = match close.checksum.as_deref() {
        Some(text) => Some(Checksum::parse(text).ok_or_else(|| refuse("invalid_checksum_format"))?),
        None => None,
    };
    let mut temp = take_upload(shared, &close)?;
    temp.domain = domain;
    if close.key.is_empty() {
        discard(shared, close.fid, &temp);
        return Ok(Args::new());
    }
    let verified = verify(shared, &close, checksum.as_ref(), args).await;
    let size = verified.inspect_err(|_| discard(shared, close.fid, &temp))?;
    let replaced = shared
        .meta()
        .commit(close.fid, temp, &close.key, size, close.devid);
    shared.delete_later(replaced);
    shared.replicate(close.fid);
    Ok(Args::new())
}

/// Path check, then the temp file row (consumed), then its destinations.
fn take_upload(shared: &Shared, close: &CreateClose) -> Result<TempFile, Reply> {
    let mut meta = shared.meta();
    if meta.topology.url(close.devid, close.fid).as_deref() != Some(close.path.as_str()) {
        return Err(refuse("bogus_args"));
    }
    let temp = meta
        .take_tempfile(close.fid)
        .ok_or_else(|| refuse("no_temp_file"))?;
    if !temp.devids.contains(&close.devid) {
        drop(meta);
        discard(shared, close.fid, &temp);
        let valid: Vec<String> = temp.devids.iter().map(u64::to_string).collect();
        let text = format!(
            "File uploaded to invalid dest {}. Valid devices were: {}",
            close.devid,
            valid.join(",")
        );
        return Err(refuse_with("invalid_destdev", text));
    }
    Ok(temp)
}

/// Deletes whatever was uploaded for an abandoned fid.
fn discard(shared: &Shared, fid: u64, temp: &TempFile) {
    let urls = shared.meta().urls(fid, &temp.devids);
    shared.delete_later(urls);
}

/// Checks the stored size (and the checksum when asked); returns the size.
async fn verify(
    shared: &Shared,
    close: &CreateClose,
    checksum: Option<&Checksum>,
    args: &Args,
) -> Result<u64, Reply> {
    // A size of 0 or none means "don't compare" (-1 in the tracker's
    // messages), so empty files work.
    let expected = (close.size > 0).then_some(close.size);
    let path = &close.path;
    let size = match shared.http.size(path).await {
        Ok(Some(size)) => size,
        Ok(None) => {
            return Err(size_verify_error(
                expected,
                "missing",
                path,
                "404 Not Found",
            ))
        }
        Err(e) => return Err(size_verify_error(expected, "cantreach", path, &e)),
    };
    if let Some(expected) = expected.filter(|&e| e != size) {
        let text = format!("Expected: {expected}; actual: {size}; path: {path}");
        return Err(refuse_with("size_mismatch", text));
    }
    let wanted = args
        .get("checksumverify")
        .is_some_and(|v| v != "0" && !v.is_empty());
    if let (Some(sum), true) = (checksum, wanted) {
        sum.verify(shared, close.fid, path).await?;
    }
    Ok(size)
}

fn size_verify_error(expected: Option<u64>, kind: &str, path: &str, error: &str) -> Reply {
    let expected = expected.map_or("-1".to_owned(), |e| e.to_string());
    let text = format!("Expected: {expected}; actual: 0 ({kind}); path: {path}; error: {error}");
    refuse_with("size_verify_error", text)
}

/// A `create_close` checksum: `MD5:<32 hex>` or `SHA-1:<40 hex>`.
struct Checksum {
    algorithm: &'static str,
    hex: String,
}

impl Checksum {
    fn parse(text: &str) -> Option<Checksum> {
        let (name, hex) = text.split_once(':')?;
        let (algorithm, len) = match name {
            "MD5" => ("MD5", 32),
            "SHA-1" => ("SHA-1", 40),
            _ => return None,
        };
        (hex.len() == len && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Checksum {
            algorithm,
            hex: hex.to_ascii_lowercase(),
        })
    }

    /// GETs and hashes the file. Only MD5 is computed here; a SHA-1 checksum
    /// is accepted unverified.
    async fn verify(&self, shared: &Shared, fid: u64, path: &str) -> Result<(), Reply> {
        if self.algorithm != "MD5" {
            return Ok(());
        }
        let digest = shared.http.md5(path).await;
        let digest = digest.map_err(|e| size_verify_error(None, "cantreach", path, &e))?;
        let actual: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        if actual == self.hex {
            return Ok(());
        }
        let text = format!(
            "Expected: Checksum[f={fid};MD5={}]; actual: MD5:{actual}; path: {path}",
            self.hex
        );
        Err(refuse_with("checksum_mismatch", text))
    }
}

/// A copy of the file that `get_paths` may return.
struct Candidate {
    url: String,
    readable: bool,
    drain: bool,
}

/// Paths of a key's copies in random order, readable devices only (draining
/// ones last); the first is verified by HEAD unless `noverify`. When no
/// device is readable, one unreadable path is returned as a last resort.
pub(super) async fn get_paths(shared: &Shared, args: &Args) -> Outcome {
    let domain = check_domain(shared, args)?;
    let request = GetPaths::from_args(args).map_err(refuse)?;
    let want = request.pathcount.unwrap_or(2).max(2) as usize;
    let (candidates, length) = candidates(shared, &domain, &request.key)?;
    let (mut paths, mut drain, mut backup) = (Vec::new(), Vec::new(), None);
    for candidate in candidates {
        if !candidate.readable {
            backup = Some(candidate.url);
            continue;
        }
        if paths.is_empty()
            && !request.noverify
            && !size_matches(shared, &candidate.url, length).await
        {
            continue;
        }
        let list = if candidate.drain {
            &mut drain
        } else {
            &mut paths
        };
        list.push(candidate.url);
        if paths.len() == want {
            break;
        }
    }
    paths.extend(drain);
    paths.truncate(want);
    if paths.is_empty() {
        paths.extend(backup);
    }
    Ok(GetPaths::reply_args(&paths))
}

fn candidates(shared: &Shared, domain: &str, key: &str) -> Result<(Vec<Candidate>, u64), Reply> {
    let meta = shared.meta();
    let (fid, row) = meta
        .lookup(domain, key)
        .ok_or_else(|| refuse("unknown_key"))?;
    let mut list: Vec<Candidate> = row
        .devids
        .iter()
        .filter_map(|&devid| {
            let device = meta.topology.devices.get(&devid)?;
            Some(Candidate {
                url: meta.topology.url(devid, fid)?,
                readable: device.readable(),
                drain: device.state == DeviceState::Drain,
            })
        })
        .collect();
    random::shuffle(&mut list);
    Ok((list, row.length))
}

async fn size_matches(shared: &Shared, url: &str, length: u64) -> bool {
    matches!(shared.http.size(url).await, Ok(Some(size)) if size == length)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_parse_like_the_tracker() {
        assert!(Checksum::parse("MD5:7fa569f513a95b6f1b63eb0a88061568").is_some());
        assert!(Checksum::parse("SHA-1:63b84253ab8d0d871e312f549df28d8408750508").is_some());
        assert!(Checksum::parse("bogus").is_none());
        assert!(Checksum::parse("MD5:abc").is_none());
        assert!(Checksum::parse("CRC:00000000").is_none());
    }
}
