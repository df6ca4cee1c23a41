//! Failed bearer tokens, counted per client address (an IPv6 client's /64), so that
//! guessing the token is slow: after `ALLOWED` failures within a window, the address is
//! answered 429 until the window ends, whatever token it presents, without the token
//! being compared at all.
//!
//! Written here rather than taken from `governor`: its limiters spend a cell on every
//! look, and this count must be looked at on every attempt but spent only on failures.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures an address may have within one window.
const ALLOWED: u32 = 10;
/// How long a window lasts from its first failure.
const WINDOW: Duration = Duration::from_secs(60);
/// Addresses remembered at most; beyond it, finished windows are forgotten first.
const REMEMBERED: usize = 10_000;

#[derive(Debug)]
struct Window {
    started: Instant,
    failures: u32,
}

/// The failures of each address in its current window.
#[derive(Debug, Default)]
pub struct Strikes {
    windows: Mutex<HashMap<IpAddr, Window>>,
}

/// Whom failures are counted against: an IPv4 address, or an IPv6 address's /64 (one
/// host usually holds a whole /64, and could otherwise take a fresh address per guess).
fn counted_as(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
    }
}

impl Strikes {
    /// How long `address` must wait before it may try again, if it must.
    pub fn wait_for(&self, address: IpAddr, now: Instant) -> Option<Duration> {
        let windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.get(&counted_as(address))?;
        let ends = window.started + WINDOW;
        (window.failures >= ALLOWED && now < ends).then(|| ends - now)
    }

    /// Counts a failed token from `address`.
    pub fn fail(&self, address: IpAddr, now: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= REMEMBERED {
            windows.retain(|_, window| now < window.started + WINDOW);
        }
        let window = windows.entry(counted_as(address)).or_insert(Window {
            started: now,
            failures: 0,
        });
        if now >= window.started + WINDOW {
            *window = Window {
                started: now,
                failures: 0,
            };
        }
        window.failures = window.failures.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_waits_after_its_failures_until_its_window_ends() {
        let strikes = Strikes::default();
        let guesser: IpAddr = "192.0.2.1".parse().expect("an address");
        let other: IpAddr = "192.0.2.2".parse().expect("an address");
        let start = Instant::now();
        for n in 0..ALLOWED {
            assert_eq!(strikes.wait_for(guesser, start), None, "failure {n}");
            strikes.fail(guesser, start);
        }
        let later = start + Duration::from_secs(15);
        assert_eq!(
            strikes.wait_for(guesser, later),
            Some(Duration::from_secs(45))
        );
        assert_eq!(strikes.wait_for(other, later), None);
        let after = start + WINDOW;
        assert_eq!(strikes.wait_for(guesser, after), None);
        strikes.fail(guesser, after);
        assert_eq!(strikes.wait_for(guesser, after), None, "a new window");
    }

    #[test]
    fn an_ipv6_host_counts_as_its_slash_64() {
        let strikes = Strikes::default();
        let start = Instant::now();
        for n in 0..ALLOWED {
            let address: IpAddr = format!("2001:db8:1:2::{:x}", n + 1)
                .parse()
                .expect("an address");
            strikes.fail(address, start);
        }
        let same_net: IpAddr = "2001:db8:1:2:ffff::1".parse().expect("an address");
        let other_net: IpAddr = "2001:db8:1:3::1".parse().expect("an address");
        assert!(strikes.wait_for(same_net, start).is_some());
        assert_eq!(strikes.wait_for(other_net, start), None);
    }
}
