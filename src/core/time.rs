//! Dates as the API writes them, with no clock of its own: `2026-06-01T12:00:04.200Z` (run
//! times) and `Sun, 06 Nov 1994 08:49:37 GMT` (`Retry-After`). Shared by the client, the
//! simulator, the proxy's broker and the tests: one copy of the calendar arithmetic.

use super::value::{ascii_number, split_ascii};

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
}

/// The civil date of a day since 1970-01-01: (year, month, day).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// Milliseconds since 1970 of a valid UTC date and time, or `None`.
fn unix_ms(date: (i64, i64, i64), clock: (i64, i64, i64), ms: i64) -> Option<i64> {
    let ((year, month, day), (h, m, s)) = (date, clock);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s) * 1000 + ms)
}

/// The digits after a decimal point, as milliseconds: "5" is 500, "25" is 250, "1234" is 123;
/// "" is 0.
pub fn fraction_ms(fraction: &str) -> Option<u64> {
    if fraction.is_empty() {
        return Some(0);
    }
    ascii_number(fraction)?;
    let first3 = fraction.get(..fraction.len().min(3))?;
    Some(ascii_number(first3)? * 10u64.pow(3 - first3.len() as u32))
}

/// `2026-06-01T12:00:04.200Z` for milliseconds since 1970 (how the API writes run times).
pub fn iso8601(unix_ms: i64) -> String {
    let (days, ms_of_day) = (
        unix_ms.div_euclid(86_400_000),
        unix_ms.rem_euclid(86_400_000),
    );
    let (year, month, day) = civil_from_days(days);
    let secs = ms_of_day / 1000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
        ms_of_day % 1000
    )
}

/// Reads `2026-06-01T12:00:04.200Z` (any number of fraction digits, or none) as milliseconds
/// since 1970; `None` for anything else.
pub fn iso8601_unix_ms(text: &str) -> Option<i64> {
    let text = text.trim().strip_suffix('Z')?;
    let (date, clock) = split_ascii(text, b'T')?;
    let (clock, fraction) = split_ascii(clock, b'.').unwrap_or((clock, ""));
    let number = |part: Option<&str>, digits: usize| {
        part.filter(|p| p.len() == digits)
            .and_then(ascii_number)
            .map(|n| n as i64)
    };
    let (mut d, mut c) = (date.split('-'), clock.split(':'));
    let date = (
        number(d.next(), 4)?,
        number(d.next(), 2)?,
        number(d.next(), 2)?,
    );
    let clock = (
        number(c.next(), 2)?,
        number(c.next(), 2)?,
        number(c.next(), 2)?,
    );
    if d.next().is_some() || c.next().is_some() {
        return None;
    }
    unix_ms(date, clock, fraction_ms(fraction)? as i64)
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate, the form HTTP servers send) as milliseconds
/// since 1970.
pub fn http_date_unix_ms(text: &str) -> Option<i64> {
    let mut parts = text.split_whitespace().skip(1);
    let number = |part: Option<&str>| ascii_number(part?).map(|n| n as i64);
    let day = number(parts.next())?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year = number(parts.next())?;
    let mut clock = parts.next()?.split(':');
    let clock = (
        number(clock.next())?,
        number(clock.next())?,
        number(clock.next())?,
    );
    if parts.next()? != "GMT" {
        return None;
    }
    unix_ms((year, month, day), clock, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(1_780_315_204_200), "2026-06-01T12:00:04.200Z");
        for ms in [
            0,
            1_500,
            951_782_400_000,
            1_780_315_204_200,
            4_102_444_799_999,
        ] {
            assert_eq!(iso8601_unix_ms(&iso8601(ms)), Some(ms));
        }
        assert_eq!(
            iso8601_unix_ms("2026-06-01T12:00:04Z"),
            Some(1_780_315_204_000)
        );
        assert_eq!(
            iso8601_unix_ms("2026-06-01T12:00:04.2Z"),
            Some(1_780_315_204_200)
        );
        for bad in [
            "yesterday",
            "2026-06-01",
            "2026-13-01T00:00:00Z",
            "2026-06-01T12:00:04.2",
        ] {
            assert_eq!(iso8601_unix_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn http_dates() {
        assert_eq!(
            http_date_unix_ms("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(http_date_unix_ms("Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(http_date_unix_ms("Sun, 06 Foo 1994 08:49:37 GMT"), None);
    }
}
