//! Upstream keys for connection reuse and peer health: how long an idle
//! tracker or storage-server connection may be reused (`idle_timeout`), and
//! after how many failures / successes in a row a tracker or storage node
//! goes down / comes back (`consecutive_failures`, `consecutive_successes`,
//! as pingora's health checks count them). A down peer is tried last for
//! `fail_timeout`.

use super::{Secs, UpstreamConfig};
use crate::clients::{HealthPolicy, PoolLimits, DEFAULT_IDLE_TIMEOUT};

/// `idle_timeout` when absent: 50s, under the idle limits of common
/// firewalls and of the servers themselves.
pub fn default_idle_timeout() -> Secs {
    Secs(DEFAULT_IDLE_TIMEOUT)
}

/// `consecutive_failures` and `consecutive_successes` when absent: one, so a
/// single failure benches a peer and a single answer re-admits it.
pub fn default_consecutive() -> u32 {
    1
}

impl UpstreamConfig {
    /// The idle connections its clients keep, per server.
    pub fn pool_limits(&self) -> PoolLimits {
        PoolLimits {
            max_idle: self.max_idle,
            idle_timeout: self.idle_timeout.0,
        }
    }

    /// When its trackers and storage nodes go down and come back.
    pub fn health_policy(&self) -> HealthPolicy {
        HealthPolicy {
            consecutive_failures: self.consecutive_failures,
            consecutive_successes: self.consecutive_successes,
            down_for: self.fail_timeout.0,
        }
    }
}

/// The key at fault and why, for [`super::ConfigError::Invalid`].
pub fn check(u: &UpstreamConfig) -> Result<(), (&'static str, String)> {
    super::limits::duration(u.idle_timeout.0, &super::limits::ZERO_OR_MORE)
        .map_err(|m| ("idle_timeout", m))?;
    let counts = [
        ("consecutive_failures", u.consecutive_failures),
        ("consecutive_successes", u.consecutive_successes),
    ];
    for (key, value) in counts {
        super::limits::number(value, 1..=u32::MAX).map_err(|m| (key, m))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! - the defaults keep today's behaviour (50s, one and one);
    //! - the keys reach the pool limits and the health policy;
    //! - zero thresholds are rejected with the key named.
    use super::*;
    use crate::config::Config;
    use std::time::Duration;

    const BASE: &str = "[server]\nlisten = \"127.0.0.1:0\"\n[[location]]\nprefix = \"/\"\nupstream = \"u\"\ndomain = \"d\"\n[[upstream]]\nname = \"u\"\nprotocol = \"mogilefs\"\ntrackers = [\"127.0.0.1:7001\"]\n";

    fn upstream(extra: &str) -> Result<UpstreamConfig, String> {
        let config = Config::parse(&format!("{BASE}{extra}")).map_err(|e| e.to_string())?;
        Ok(config.upstreams[0].get_ref().clone())
    }

    #[test]
    fn defaults_keep_one_and_one_and_fifty_seconds() {
        let u = upstream("").unwrap();
        assert_eq!(u.pool_limits().idle_timeout, Duration::from_secs(50));
        assert_eq!(u.pool_limits().max_idle, 16);
        assert_eq!(u.health_policy(), HealthPolicy::new(Duration::from_secs(5)));
    }

    #[test]
    fn keys_reach_the_pool_and_the_policy() {
        let u = upstream("idle_timeout = \"20s\"\nconsecutive_failures = 3\nconsecutive_successes = 2\nfail_timeout = \"7s\"\n").unwrap();
        assert_eq!(u.pool_limits().idle_timeout, Duration::from_secs(20));
        let policy = u.health_policy();
        assert_eq!(policy.consecutive_failures, 3);
        assert_eq!(policy.consecutive_successes, 2);
        assert_eq!(policy.down_for, Duration::from_secs(7));
    }

    #[test]
    fn zero_thresholds_are_rejected() {
        for key in ["consecutive_failures", "consecutive_successes"] {
            let e = upstream(&format!("{key} = 0\n")).unwrap_err();
            assert!(e.contains(&format!("upstream[0].{key}")), "{e}");
        }
    }
}
