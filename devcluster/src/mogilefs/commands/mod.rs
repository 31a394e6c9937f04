//! The tracker's command dispatcher: one request line in, one reply line out.
//!
//! Argument checks follow mogilefsd 2.73 in order (domain first, then the
//! command's own arguments), so error codes match a real tracker's for the
//! same request. `callid` is echoed as an `OK` field or a trailing `ERR` word.

mod admin;
mod files;
mod keys;

use super::state::Shared;
use dfs_protocol::mogilefs::args::escape;
use dfs_protocol::mogilefs::{Args, Reply, Request};
use std::sync::Arc;
use std::time::Duration;

/// A command's result: the `OK` fields, or the `ERR` reply.
type Outcome = Result<Args, Reply>;

/// The `ERR` reply for `code` with the tracker's standard text.
fn refuse(code: &str) -> Reply {
    Reply::error(code)
}

/// An `ERR` reply with a detail text.
fn refuse_with(code: &str, text: String) -> Reply {
    Reply::Err {
        code: code.to_owned(),
        text,
    }
}

/// The domain named by the request, which must exist.
fn check_domain(shared: &Shared, args: &Args) -> Result<String, Reply> {
    let domain = args
        .get_nonempty("domain")
        .ok_or_else(|| refuse("no_domain"))?;
    if !shared.meta().domains.contains_key(domain) {
        return Err(refuse("unreg_domain"));
    }
    Ok(domain.to_owned())
}

/// Answers one line; `None` for an empty line, which gets no reply.
pub(crate) async fn answer(shared: &Arc<Shared>, line: &str) -> Option<String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.is_empty() {
        return None;
    }
    let Ok(request) = Request::parse(line) else {
        return Some(refuse("unknown_command").encode());
    };
    let reply = execute(shared, &request).await;
    Some(with_callid(reply, request.args.get("callid")))
}

fn with_callid(reply: Reply, callid: Option<&str>) -> String {
    match (reply, callid) {
        (Reply::Ok(mut fields), Some(id)) => {
            fields.push("callid", id);
            Reply::Ok(fields).encode()
        }
        (err @ Reply::Err { .. }, Some(id)) => {
            format!("{} {}\r\n", err.encode().trim_end(), escape(id.as_bytes()))
        }
        (reply, None) => reply.encode(),
    }
}

/// Runs one parsed request.
pub(crate) async fn execute(shared: &Arc<Shared>, request: &Request) -> Reply {
    let args = &request.args;
    let outcome = match request.command.as_str() {
        "noop" => Ok(Args::new()),
        // mogilefsd echoes clear_cache's arguments back as fields.
        "clear_cache" => Ok(without_callid(args)),
        "replicate_now" => Ok(Args::new().with("count", "0")),
        "sleep" => sleep(args).await,
        "create_domain" => admin::create_domain(shared, args),
        "create_class" => admin::create_class(shared, args, false),
        "update_class" => admin::create_class(shared, args, true),
        "get_domains" => Ok(admin::get_domains(shared)),
        "get_hosts" => Ok(admin::get_hosts(shared, args)),
        "get_devices" => Ok(admin::get_devices(shared, args)),
        "create_open" => files::create_open(shared, args),
        "create_close" => files::create_close(shared, args).await,
        "get_paths" => files::get_paths(shared, args).await,
        "delete" => keys::delete(shared, args),
        "rename" => keys::rename(shared, args),
        "file_info" => keys::file_info(shared, args),
        "list_keys" => keys::list_keys(shared, args),
        "updateclass" => keys::updateclass(shared, args),
        _ => Err(refuse("unknown_command")),
    };
    match outcome {
        Ok(fields) => Reply::Ok(fields),
        Err(reply) => reply,
    }
}

fn without_callid(args: &Args) -> Args {
    args.iter()
        .filter(|(name, _)| *name != "callid")
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

/// `sleep duration=N` (default 10 s): a tracker that is slow on purpose.
async fn sleep(args: &Args) -> Outcome {
    let secs = args
        .get_nonempty("duration")
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d > 0.0)
        .unwrap_or(10.0);
    tokio::time::sleep(Duration::from_secs_f64(secs.min(3600.0))).await;
    Ok(Args::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callid_is_echoed_both_ways() {
        assert_eq!(
            with_callid(Reply::Ok(Args::new()), Some("42")),
            "OK callid=42\r\n"
        );
        assert_eq!(
            with_callid(refuse("unknown_key"), Some("abc")),
            "ERR unknown_key unknown_key abc\r\n"
        );
        assert_eq!(with_callid(Reply::Ok(Args::new()), None), "OK \r\n");
    }
}
