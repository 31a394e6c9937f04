//! fastdfs-nginx-module's `mod_fastdfs.conf`, as both readers of it see it:
//! `fastdfs_conf` on a location (`config`) and the nginx importer
//! (`import_nginx`). Neither depends on the other; both depend on this.
//!
//! - [`ini`]: FastDFS's ini format with `#include`, bounded.
//! - [`READ`] and [`MODULE_ONLY`]: which keys the gateway reads, and which
//!   only tune the module itself, so anything else can be reported.

pub mod ini;

pub use ini::{Entry, IniError, IniFile, Origin};

/// Keys read from `mod_fastdfs.conf` / `http.conf`, in the global part.
pub const READ: &[&str] = &[
    "tracker_server",
    "connect_timeout",
    "network_timeout",
    "url_have_group_name",
    "group_name",
    "group_count",
    "store_path_count",
    "base_path",
    "http.anti_steal.check_token",
    "http.anti_steal.token_ttl",
    "http.anti_steal.secret_key",
    "http.anti_steal.token_check_fail",
    "response_mode",
    "flv_support",
    "http.multi_range.enabled",
    // The stock http.conf spells it so; the module's default (on) holds either way.
    "http.multi_range.enabed",
    "use_storage_id",
    "anti_steal_bypass_header_name",
    "anti_steal_bypass_header_value",
];

/// Keys that only tune the module's own work (logging, guessing whether a
/// missing file is still syncing, finding local addresses): nothing to carry.
pub const MODULE_ONLY: &[&str] = &[
    "log_level",
    "log_filename",
    "load_fdfs_parameters_from_tracker",
    "storage_sync_file_max_delay",
    "storage_ids_filename",
    "storage_server_port",
    "if_alias_prefix",
    "flv_extension",
    "http.default_content_type",
    "http.mime_types_filename",
];
