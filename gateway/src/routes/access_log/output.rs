//! Where log lines go: one subscriber for the process (and for tests, with
//! their own writer) that writes the gateway's events as text or JSON and
//! nginx-`combined` access lines bare, exactly as nginx writes them, so log
//! tools that parse `combined` read them unchanged.

use crate::config::LogFormat;
use serde::Deserialize;
use std::cell::RefCell;
use std::fmt::{self, Write as _};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
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
        LogFormat::Text => events
            .event_format(AccessLines(
                tracing_subscriber::fmt::format().with_target(false),
            ))
            .boxed(),
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

/// The text format, with a shorter way to the same bytes for access lines.
///
/// tracing-subscriber's field visitor styles every field name for colours
/// even when they are off, and escapes every `&str` through `Debug`; an
/// access line has sixteen fields, and writing them was about 7 % of a
/// 4 KiB GET's user-space time (`bench/`, perf), half of it after this.
///
/// An access line outside any span, without colours, is written here
/// instead: the same timestamp, level and `name=value` fields, a printable
/// ASCII string quoted as `Debug` would quote it, anything else through
/// `Debug` itself. Every other event, and an access line with a field this
/// does not know, goes to the wrapped format (tested byte for byte
/// against it).
pub struct AccessLines<F>(pub F);

impl<S, N, F> FormatEvent<S, N> for AccessLines<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        if meta.target() == TARGET && !writer.has_ansi_escapes() && ctx.event_scope().is_none() {
            let mut fields = PlainFields::default();
            event.record(&mut fields);
            if !fields.unknown {
                if write_time(&mut writer).is_err() {
                    writer.write_str("<unknown time>")?;
                }
                return writeln!(writer, " {:>5} {}", meta.level(), fields.out);
            }
        }
        self.0.format_event(ctx, writer, event)
    }
}

/// The time as tracing-subscriber's [`SystemTime`] writes it,
/// `2026-12-03T16:40:00.123456Z`, with the part before the microseconds
/// formatted once a second per thread.
fn write_time(writer: &mut Writer<'_>) -> fmt::Result {
    /// The first moment humantime cannot write (the year 10000).
    const YEAR_10000: u64 = 253_402_300_800;
    thread_local! {
        /// A second since the epoch and its `2026-12-03T16:40:00.`.
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
    }
    let now = std::time::SystemTime::now();
    let since = match now.duration_since(std::time::UNIX_EPOCH) {
        Ok(since) if since.as_secs() < YEAR_10000 => since,
        _ => return SystemTime.format_time(writer),
    };
    SECOND.with_borrow_mut(|(second, prefix)| {
        if *second != since.as_secs() || prefix.is_empty() {
            prefix.clear();
            write!(prefix, "{}", humantime::format_rfc3339_seconds(now))?;
            prefix.pop(); // its `Z`
            prefix.push('.');
            *second = since.as_secs();
        }
        writer.write_str(prefix)?;
        super::line::write_padded(writer, since.subsec_micros(), 6)?;
        writer.write_char('Z')
    })
}

/// An access line's fields, spelled as tracing-subscriber's default
/// visitor spells them without colours.
#[derive(Default)]
struct PlainFields {
    out: String,
    /// A field that visitor treats specially (a message, an error, a raw
    /// identifier, `log.` metadata): the line is left to it.
    unknown: bool,
}

impl PlainFields {
    /// Starts `field`; false when it is one to leave to the default visitor.
    fn name(&mut self, field: &Field) -> bool {
        let name = field.name();
        if name == "message" || name.starts_with("r#") || name.starts_with("log.") {
            self.unknown = true;
            return false;
        }
        if !self.out.is_empty() {
            self.out.push(' ');
        }
        self.out.push_str(name);
        self.out.push('=');
        true
    }
}

impl Visit for PlainFields {
    fn record_str(&mut self, field: &Field, value: &str) {
        if !self.name(field) {
            return;
        }
        // `Debug` leaves printable ASCII but quotes and backslashes as it is.
        let plain = value
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'"' && b != b'\\');
        if plain {
            self.out.push('"');
            self.out.push_str(value);
            self.out.push('"');
        } else {
            let _ = write!(self.out, "{value:?}");
        }
    }

    // Integers as `Debug` writes them, without its machinery.
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.name(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.name(field) {
            self.out.push_str(itoa::Buffer::new().format(value));
        }
    }

    fn record_error(&mut self, _field: &Field, _value: &(dyn std::error::Error + 'static)) {
        self.unknown = true;
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.name(field) {
            let _ = write!(self.out, "{value:?}");
        }
    }
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
