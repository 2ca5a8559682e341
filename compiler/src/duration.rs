//! Durations written and printed the way Go's `time` package does, since
//! that is what Corefiles contain and what CoreDNS logs: `300ms`, `1m30s`,
//! `1.5h` are read; `30s`, `5m0s`, `1h0m0s`, `100ms` are printed.

/// Nanoseconds per unit suffix.
fn unit_nanos(unit: &str) -> Option<u64> {
    Some(match unit {
        "ns" => 1,
        // `us`, the micro sign (U+00B5) and the Greek mu (U+03BC).
        "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    })
}

/// Parses a Go duration (`[-+]?([0-9]*(\.[0-9]*)?UNIT)+`, or a bare `0`)
/// into nanoseconds. The error is Go's message for the same input.
pub fn parse_go_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {text:?}");
    let (negative, mut s) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let limit: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        let is_num = |b: u8| b == b'.' || b.is_ascii_digit();
        if !is_num(s.as_bytes()[0]) {
            return Err(invalid());
        }
        // Whole part.
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let mut whole: u64 = 0;
        for b in s[..digits].bytes() {
            whole = whole
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .filter(|&v| v <= limit)
                .ok_or_else(invalid)?;
        }
        s = &s[digits..];
        // Fraction: digits past what fits are ignored.
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut frac_digits = 0;
        let mut had_point = false;
        if let Some(after) = s.strip_prefix('.') {
            had_point = true;
            frac_digits = after.bytes().take_while(u8::is_ascii_digit).count();
            let mut overflowed = false;
            for b in after[..frac_digits].bytes() {
                if overflowed {
                    continue;
                }
                match frac
                    .checked_mul(10)
                    .and_then(|v| v.checked_add(u64::from(b - b'0')))
                {
                    Some(v) if v <= limit => {
                        frac = v;
                        scale *= 10.0;
                    }
                    _ => overflowed = true,
                }
            }
            s = &after[frac_digits..];
        }
        if digits == 0 && !(had_point && frac_digits > 0) {
            return Err(invalid());
        }
        // Unit: everything up to the next number.
        let unit_len = s.bytes().take_while(|&b| !is_num(b)).count();
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration {text:?}"));
        }
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        let per = unit_nanos(unit)
            .ok_or_else(|| format!("time: unknown unit {unit:?} in duration {text:?}"))?;
        let mut value = whole
            .checked_mul(per)
            .filter(|&v| v <= limit)
            .ok_or_else(invalid)?;
        if frac > 0 {
            value += (frac as f64 * (per as f64 / scale)) as u64;
            if value > limit {
                return Err(invalid());
            }
        }
        total = total
            .checked_add(value)
            .filter(|&v| v <= limit)
            .ok_or_else(invalid)?;
    }
    if negative {
        // -2^63 fits; anything else at or below the limit negates exactly.
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| invalid())
}

/// `int` followed by `frac` as a `prec`-digit decimal fraction, trailing
/// zeros (and a bare point) dropped.
fn push_decimal(out: &mut String, int: u64, frac: u64, prec: usize) {
    out.push_str(&int.to_string());
    if frac != 0 {
        let digits = format!("{frac:0prec$}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
}

/// Prints nanoseconds as Go's `Duration.String` does: `0s`, `1.5µs`,
/// `100ms`, `30s`, `5m0s`, `1h1m1.5s`.
pub fn format_go_duration(nanos: i64) -> String {
    let mut out = String::new();
    if nanos < 0 {
        out.push('-');
    }
    let u = nanos.unsigned_abs();
    if u == 0 {
        return "0s".into();
    }
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let p = 10u64.pow(prec as u32);
        push_decimal(&mut out, u / p, u % p, prec);
        out.push_str(unit);
        return out;
    }
    let secs = u / 1_000_000_000;
    let mins = secs / 60;
    let hours = mins / 60;
    if hours > 0 {
        out.push_str(&format!("{hours}h"));
    }
    if mins > 0 {
        out.push_str(&format!("{}m", mins % 60));
    }
    push_decimal(&mut out, secs % 60, u % 1_000_000_000, 9);
    out.push('s');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let ok = [
            ("0", 0),
            ("-0", 0),
            ("+0", 0),
            ("0s", 0),
            ("1ns", 1),
            ("1us", 1_000),
            ("1\u{b5}s", 1_000),
            ("1\u{3bc}s", 1_000),
            ("100ms", 100_000_000),
            ("30s", 30_000_000_000),
            ("5m", 300_000_000_000),
            ("1h", 3_600_000_000_000),
            ("1m30s", 90_000_000_000),
            ("1h2m3s4ms5us6ns", 3_723_004_005_006),
            ("1.5h", 5_400_000_000_000),
            ("1.5s", 1_500_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("-1m", -60_000_000_000),
            ("+2s", 2_000_000_000),
            ("2562047h47m16.854775807s", i64::MAX),
            ("-2562047h47m16.854775808s", i64::MIN),
        ];
        for (text, want) in ok {
            assert_eq!(parse_go_duration(text), Ok(want), "{text}");
        }
        let bad = [
            ("", "time: invalid duration \"\""),
            ("-", "time: invalid duration \"-\""),
            ("s", "time: invalid duration \"s\""),
            (".s", "time: invalid duration \".s\""),
            ("1", "time: missing unit in duration \"1\""),
            ("1m2", "time: missing unit in duration \"1m2\""),
            ("3d", "time: unknown unit \"d\" in duration \"3d\""),
            ("1 s", "time: unknown unit \" s\" in duration \"1 s\""),
            (
                "9223372036854775808ns",
                "time: invalid duration \"9223372036854775808ns\"",
            ),
            (
                "2562047h47m16.854775808s",
                "time: invalid duration \"2562047h47m16.854775808s\"",
            ),
            (
                "99999999999999999999s",
                "time: invalid duration \"99999999999999999999s\"",
            ),
        ];
        for (text, want) in bad {
            assert_eq!(parse_go_duration(text).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn prints_like_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (999, "999ns"),
            (1_000, "1\u{b5}s"),
            (1_500, "1.5\u{b5}s"),
            (100_000_000, "100ms"),
            (1_234_567, "1.234567ms"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (30_000_000_000, "30s"),
            (60_000_000_000, "1m0s"),
            (90_000_000_000, "1m30s"),
            (300_000_000_000, "5m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_661_500_000_000, "1h1m1.5s"),
            (-90_000_000_000, "-1m30s"),
            (-1_500, "-1.5\u{b5}s"),
            (i64::MAX, "2562047h47m16.854775807s"),
            (i64::MIN, "-2562047h47m16.854775808s"),
        ];
        for (nanos, want) in cases {
            assert_eq!(format_go_duration(nanos), want, "{nanos}");
        }
    }
}
