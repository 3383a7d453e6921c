//! Durations and byte sizes, parsed as Compose parses them and printed as it prints them.

use serde::{Serialize, Serializer};

/// A duration in nanoseconds, printed like Go's `time.Duration` (`1m30s`, `500ms`).
/// Compose accepts negative durations (`-5s`), so this is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub i64);

impl Duration {
    /// Parse Go duration syntax: `1h2m3.5s`, `300ms`, `10us`, `0`, `-5s`, plus
    /// the `d` and `w` units Compose adds.
    pub fn parse(s: &str) -> Result<Duration, String> {
        let s = s.trim();
        if let Some(rest) = s.strip_prefix('-') {
            return Duration::parse(rest).map(|d| Duration(-d.0));
        }
        let s = s.strip_prefix('+').unwrap_or(s);
        if s == "0" {
            return Ok(Duration(0));
        }
        if s.is_empty() {
            return Err("empty duration".into());
        }
        let mut total: f64 = 0.0;
        let mut rest = s;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(rest.len());
            if num_len == 0 {
                return Err(format!("`{s}` is not a duration"));
            }
            let number: f64 = rest[..num_len]
                .parse()
                .map_err(|_| format!("`{s}` is not a duration"))?;
            rest = &rest[num_len..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let unit = &rest[..unit_len];
            let factor = match unit {
                "ns" => 1.0,
                "us" | "µs" | "μs" => 1e3,
                "ms" => 1e6,
                "s" => 1e9,
                "m" => 60e9,
                "h" => 3600e9,
                "d" => 86400e9,
                "w" => 604800e9,
                "" => return Err(format!("`{s}` has no unit")),
                _ => return Err(format!("`{s}` has an unknown unit `{unit}`")),
            };
            total += number * factor;
            rest = &rest[unit_len..];
        }
        Ok(Duration(total.round() as i64))
    }

    pub fn as_secs_f64(&self) -> f64 {
        self.0 as f64 / 1e9
    }
}

impl std::fmt::Display for Duration {
    /// Go's `Duration.String()`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 < 0 {
            f.write_str("-")?;
        }
        let ns = self.0.unsigned_abs();
        if ns == 0 {
            return f.write_str("0s");
        }
        if ns < 1_000_000_000 {
            let (unit, div) = if ns < 1_000 {
                ("ns", 1)
            } else if ns < 1_000_000 {
                ("µs", 1_000)
            } else {
                ("ms", 1_000_000)
            };
            return write!(f, "{}{unit}", trim_fraction(ns, div));
        }
        let hours = ns / 3_600_000_000_000;
        let rem = ns % 3_600_000_000_000;
        let mins = rem / 60_000_000_000;
        let secs_ns = rem % 60_000_000_000;
        let secs = trim_fraction(secs_ns, 1_000_000_000);
        if hours > 0 {
            write!(f, "{hours}h{mins}m{secs}s")
        } else if mins > 0 {
            write!(f, "{mins}m{secs}s")
        } else {
            write!(f, "{secs}s")
        }
    }
}

fn trim_fraction(value: u64, div: u64) -> String {
    let whole = value / div;
    let frac = value % div;
    if frac == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Duration {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Duration::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A size in bytes, printed as a decimal string as Compose prints it (`"52428800"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes(pub i64);

impl Bytes {
    /// Docker's `RAMInBytes`: `512`, `64m`, `1.5g`, `10kb`; 1024-based, case-insensitive.
    pub fn parse(s: &str) -> Result<Bytes, String> {
        let t = s.trim().to_ascii_lowercase();
        let num_len = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(num_len);
        let number: f64 = num.parse().map_err(|_| format!("`{s}` is not a size"))?;
        let factor: f64 = match unit.trim() {
            "" | "b" => 1.0,
            "k" | "kb" | "kib" => 1024.0,
            "m" | "mb" | "mib" => 1024.0 * 1024.0,
            "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
            "t" | "tb" | "tib" => 1024f64.powi(4),
            "p" | "pb" | "pib" => 1024f64.powi(5),
            other => return Err(format!("`{s}` has an unknown unit `{other}`")),
        };
        Ok(Bytes((number * factor) as i64))
    }
}

impl Serialize for Bytes {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Read back as written: a decimal string (`"52428800"`), or a number.
impl<'de> serde::Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Written {
            Number(i64),
            Text(String),
        }
        match Written::deserialize(d)? {
            Written::Number(n) => Ok(Bytes(n)),
            Written::Text(t) => Bytes::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        let p = |s| Duration::parse(s).unwrap().to_string();
        assert_eq!(p("1m30s"), "1m30s");
        assert_eq!(p("90s"), "1m30s");
        assert_eq!(p("1m"), "1m0s");
        assert_eq!(p("1h"), "1h0m0s");
        assert_eq!(p("500ms"), "500ms");
        assert_eq!(p("1.5s"), "1.5s");
        assert_eq!(p("10us"), "10µs");
        assert_eq!(p("0"), "0s");
        assert_eq!(p("2h45m"), "2h45m0s");
        assert_eq!(p("1d"), "24h0m0s");
        assert_eq!(p("-5s"), "-5s");
    }

    #[test]
    fn bad_durations() {
        assert!(Duration::parse("10").is_err());
        assert!(Duration::parse("ten seconds").is_err());
        assert!(Duration::parse("10sec").is_err());
    }

    #[test]
    fn sizes_are_1024_based() {
        assert_eq!(Bytes::parse("50M").unwrap(), Bytes(52_428_800));
        assert_eq!(Bytes::parse("1g").unwrap(), Bytes(1 << 30));
        assert_eq!(Bytes::parse("1.5k").unwrap(), Bytes(1536));
        assert_eq!(Bytes::parse("512").unwrap(), Bytes(512));
        assert!(Bytes::parse("lots").is_err());
    }
}
