//! Where log lines go: one subscriber for the process (and for tests, with
//! their own writer) that writes the gateway's events as text or JSON and
//! nginx-`combined` access lines bare, exactly as nginx writes them, so log
//! tools that parse `combined` read them unchanged.

use crate::config::LogFormat;
use serde::Deserialize;
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// The target of access lines in the gateway's format (structured fields).
pub const TARGET: &str = "access";

/// The target of access lines in nginx's `combined` format (the message is
/// the whole line).
pub const COMBINED_TARGET: &str = "access_combined";

/// `[server].access_log_format`: how access lines are spelled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessFormat {
    /// The gateway's fields: client, request, status, bytes, referer, user
    /// agent, request time, tracker, storage node, cache, request id; as
    /// `key=value` text or JSON following `log_format`.
    #[default]
    Gateway,
    /// nginx's `combined` line, written bare (no timestamp or level prefix).
    Combined,
}

/// The process's subscriber: `filter` over everything; the gateway's events
/// formatted as `format` says; `combined` access lines bare. All go to
/// `writer`, with colours when `ansi`.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> impl Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Clone + Send + Sync + 'static,
{
    let events = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_writer(writer.clone())
        .with_ansi(ansi);
    let events = match format {
        LogFormat::Text => events.boxed(),
        LogFormat::Json => events.json().flatten_event(true).boxed(),
    };
    let combined = tracing_subscriber::fmt::layer()
        .event_format(Bare)
        .with_writer(writer)
        .with_filter(filter_fn(|m| m.target() == COMBINED_TARGET));
    tracing_subscriber::registry()
        .with(filter)
        .with(events.with_filter(filter_fn(|m| m.target() != COMBINED_TARGET)))
        .with(combined)
}

/// Writes an event's message and nothing else.
struct Bare;

impl<S, N> FormatEvent<S, N> for Bare
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut message = Message(String::new());
        event.record(&mut message);
        writeln!(writer, "{}", message.0)
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        }
    }
}
