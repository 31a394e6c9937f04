//! Rate limits per client address: a `governor` token bucket (GCRA) per
//! address, kept in a bounded `moka` table.
//!
//! The table holds at most `[server.access].rate_table_size` addresses;
//! beyond that the least used are forgotten first (moka's TinyLFU keeps busy
//! clients). An address idle long enough for its bucket to refill is dropped
//! as well: forgetting it then loses nothing. IPv6 clients count per /64, the
//! block one host usually holds, so one machine cannot mint itself fresh
//! buckets.

use crate::config::access::RateLimit;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// One limit (e.g. this location's writes) for every client address.
#[derive(Debug, Clone)]
pub struct Limiter {
    quota: Quota,
    table: moka::sync::Cache<IpAddr, Arc<DefaultDirectRateLimiter>>,
}

impl Limiter {
    /// A limiter for `limit`, remembering at most `table_size` addresses.
    pub fn new(limit: RateLimit, table_size: u64) -> Self {
        let rate = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = limit.burst.and_then(NonZeroU32::new).unwrap_or(rate);
        let refill = Duration::from_secs_f64(f64::from(burst.get()) / f64::from(rate.get()));
        Limiter {
            quota: Quota::per_second(rate).allow_burst(burst),
            table: moka::sync::Cache::builder()
                .max_capacity(table_size)
                .time_to_idle(refill + Duration::from_secs(1))
                .build(),
        }
    }

    /// `Ok` when `client` may go on; otherwise how long until it may.
    pub fn check(&self, client: Option<IpAddr>) -> Result<(), Duration> {
        let key = key_of(client);
        let bucket = self
            .table
            .get_with(key, || Arc::new(RateLimiter::direct(self.quota)));
        bucket
            .check()
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// Addresses currently remembered (after pending evictions).
    pub fn table_len(&self) -> u64 {
        self.table.run_pending_tasks();
        self.table.entry_count()
    }
}

/// IPv4 addresses as they are; IPv6 by their /64.
fn key_of(client: Option<IpAddr>) -> IpAddr {
    match client {
        Some(IpAddr::V6(v6)) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(bits))
        }
        Some(v4) => v4,
        None => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
    }
}

/// Whole seconds for `Retry-After`, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs_f64().ceil().max(1.0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn burst_then_refused_per_address() {
        let limiter = Limiter::new(
            RateLimit {
                per_second: 1,
                burst: Some(3),
            },
            100,
        );
        for _ in 0..3 {
            assert!(limiter.check(addr("192.0.2.1")).is_ok());
        }
        let wait = limiter.check(addr("192.0.2.1")).unwrap_err();
        assert!(
            wait <= Duration::from_secs(1) && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert_eq!(retry_after_secs(wait), 1);
        // Another address has its own bucket.
        assert!(limiter.check(addr("192.0.2.2")).is_ok());
    }

    #[test]
    fn ipv6_counts_per_64() {
        let limiter = Limiter::new(
            RateLimit {
                per_second: 1,
                burst: Some(1),
            },
            100,
        );
        assert!(limiter.check(addr("2001:db8:1:2::1")).is_ok());
        assert!(limiter.check(addr("2001:db8:1:2::ffff")).is_err());
        assert!(limiter.check(addr("2001:db8:1:3::1")).is_ok());
    }

    #[test]
    fn table_stays_bounded() {
        let limiter = Limiter::new(
            RateLimit {
                per_second: 10,
                burst: None,
            },
            1000,
        );
        for i in 0..20_000u32 {
            let _ = limiter.check(Some(IpAddr::V4(Ipv4Addr::from(0x0A00_0000 + i))));
        }
        let len = limiter.table_len();
        assert!(len <= 1000, "{len} addresses remembered");
    }
}
