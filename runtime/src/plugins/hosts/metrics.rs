//! `coredns_hosts_*`: set when a hosts file is read (at start and on each
//! reload), never on the query path.

use crate::metrics::{float_gauge, gauge_vec};
use prometheus::{Gauge, IntGaugeVec};
use std::sync::LazyLock;
use std::time::SystemTime;

static ENTRIES: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    gauge_vec(
        "coredns_hosts_entries",
        "Entries read from the hosts file and the Corefile together.",
        &["hostsfile"],
    )
});

static RELOADED: LazyLock<Gauge> = LazyLock::new(|| {
    float_gauge(
        "coredns_hosts_reload_timestamp_seconds",
        "Modification time of the hosts file last read, in seconds since the epoch.",
    )
});

/// A version of the file `label` was read: with the inline lines it gives
/// `entries`, and it was last modified at `mtime`.
pub(super) fn file_read(label: &str, entries: usize, mtime: Option<SystemTime>) {
    ENTRIES
        .with_label_values(&[label])
        .set(i64::try_from(entries).unwrap_or(i64::MAX));
    if let Some(t) = mtime {
        let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => d.as_secs_f64(),
            Err(e) => -e.duration().as_secs_f64(),
        };
        RELOADED.set(secs);
    }
}
