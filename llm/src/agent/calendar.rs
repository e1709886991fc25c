//! [`Calendar`]: date arithmetic for an agent (weekdays, adding days, days
//! between dates), the kind of question language models get wrong when they
//! answer from memory.
//!
//! It has no clock: "today" would make a run depend on the day it ran, and
//! a lesson's output would change under the reader. The model has to write
//! the dates out.

use super::Tool;

/// The calendar tool (proleptic Gregorian calendar, years 1 to 9999).
/// Inputs:
/// - `2024-03-15`: the weekday of a date;
/// - `2024-03-15 + 30` or `2024-03-15 - 7`: the date so many days later or
///   earlier;
/// - `2024-01-01 to 2024-03-15`: the days from one date to the other.
#[derive(Clone, Copy, Debug, Default)]
pub struct Calendar;

impl Tool for Calendar {
    fn name(&self) -> &str {
        "calendar"
    }

    fn description(&self) -> &str {
        "Gives the weekday of a date, the date some days after or before a date, or the number \
         of days between two dates."
    }

    fn input(&self) -> &str {
        "a date as YYYY-MM-DD, a date plus or minus days such as 2024-03-15 + 30, or two dates \
         such as 2024-01-01 to 2024-03-15"
    }

    fn call(&self, input: &str) -> Result<String, String> {
        let input = input.trim();
        if let Some((from, to)) = input.split_once(" to ") {
            let (from, to) = (parse_date(from)?, parse_date(to)?);
            let days = to.days() - from.days();
            return Ok(format!(
                "{days} day{} from {from} to {to}",
                if days.abs() == 1 { "" } else { "s" }
            ));
        }
        if let Some(at) = input.rfind(['+', '-']).filter(|&at| at > 10) {
            let date = parse_date(&input[..at])?;
            let count = input[at + 1..].trim();
            let count = count.strip_suffix("days").unwrap_or(count).trim();
            let days: i64 = count.parse().map_err(|_| {
                format!(
                    "expected a number of days after '{}', found {count:?}",
                    &input[at..=at]
                )
            })?;
            if days.abs() > MAX_DAYS {
                return Err(format!("{days} days is too many: at most {MAX_DAYS}"));
            }
            let days = if &input[at..=at] == "-" { -days } else { days };
            let date = Date::from_days(date.days() + days)?;
            return Ok(format!("{date}, a {}", date.weekday()));
        }
        let date = parse_date(input)?;
        Ok(format!("{date} is a {}", date.weekday()))
    }
}

/// Most days that can be added: the calendar spans under 3.7 million.
const MAX_DAYS: i64 = 4_000_000;

/// A day of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Date {
    year: i64,
    month: i64,
    day: i64,
}

const WEEKDAYS: [&str; 7] = [
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
];

impl Date {
    /// Days since 1970-01-01 (negative before), by Howard Hinnant's
    /// `days_from_civil`: years counted from March, so the leap day is the
    /// last day of the year, then 400-year eras of 146097 days.
    fn days(self) -> i64 {
        let year = if self.month <= 2 {
            self.year - 1
        } else {
            self.year
        };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_from_march = (self.month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + self.day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The inverse of [`Date::days`] (Hinnant's `civil_from_days`), within
    /// years 1 to 9999.
    fn from_days(days: i64) -> Result<Date, String> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        if !(1..=9999).contains(&year) {
            return Err(format!(
                "the result falls in year {year}, outside 1 to 9999"
            ));
        }
        Ok(Date { year, month, day })
    }

    fn weekday(self) -> &'static str {
        WEEKDAYS[self.days().rem_euclid(7) as usize]
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// `YYYY-MM-DD`, checked against the calendar (no 2023-02-29).
fn parse_date(text: &str) -> Result<Date, String> {
    let text = text.trim();
    let fields: Vec<&str> = text.split('-').collect();
    let number = |s: &str, digits: usize| {
        (s.len() == digits && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().expect("ASCII digits parse"))
    };
    let fields = match fields[..] {
        [y, m, d] => (number(y, 4), number(m, 2), number(d, 2)),
        _ => (None, None, None),
    };
    let (Some(year), Some(month), Some(day)) = fields else {
        return Err(format!("expected a date as YYYY-MM-DD, found {text:?}"));
    };
    let days_in_month = match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return Err(format!("{text}: there is no month {month}")),
    };
    if year == 0 || !(1..=days_in_month).contains(&day) {
        return Err(format!(
            "{text}: there is no such day (month {month} of {year} has {days_in_month} days, \
             years start at 0001)"
        ));
    }
    Ok(Date { year, month, day })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(input: &str) -> Result<String, String> {
        Calendar.call(input)
    }

    #[test]
    fn weekdays_of_known_dates() {
        assert_eq!(call("1970-01-01").unwrap(), "1970-01-01 is a Thursday");
        assert_eq!(call(" 1969-07-20 ").unwrap(), "1969-07-20 is a Sunday");
        assert_eq!(call("2000-02-29").unwrap(), "2000-02-29 is a Tuesday");
        assert_eq!(call("2024-03-15").unwrap(), "2024-03-15 is a Friday");
        assert_eq!(call("0001-01-01").unwrap(), "0001-01-01 is a Monday");
    }

    #[test]
    fn days_added_and_counted_round_trip() {
        assert_eq!(call("2024-02-28 + 1").unwrap(), "2024-02-29, a Thursday");
        assert_eq!(
            call("2023-02-28 + 1 days").unwrap(),
            "2023-03-01, a Wednesday"
        );
        assert_eq!(call("2024-03-01 - 1").unwrap(), "2024-02-29, a Thursday");
        assert_eq!(call("2024-01-01 + 366").unwrap(), "2025-01-01, a Wednesday");
        assert_eq!(
            call("2024-01-01 to 2024-03-15").unwrap(),
            "74 days from 2024-01-01 to 2024-03-15"
        );
        assert_eq!(
            call("2024-03-15 to 2024-03-14").unwrap(),
            "-1 day from 2024-03-15 to 2024-03-14"
        );
        for days in [-700_000, -1, 0, 59, 60, 365, 146_097, 2_000_000] {
            let date = Date::from_days(days).unwrap();
            assert_eq!(date.days(), days, "{date}");
            assert_eq!(parse_date(&date.to_string()), Ok(date));
        }
    }

    #[test]
    fn impossible_dates_are_errors_that_say_why() {
        assert!(call("2023-02-29").unwrap_err().contains("has 28 days"));
        assert!(call("2024-13-01").unwrap_err().contains("no month 13"));
        assert!(call("March 3").unwrap_err().contains("YYYY-MM-DD"));
        assert!(call("2024-3-1").unwrap_err().contains("YYYY-MM-DD"));
        assert!(
            call("2024-03-01 + three")
                .unwrap_err()
                .contains("number of days")
        );
        assert!(
            call("2024-01-01 + 9000000000000000000")
                .unwrap_err()
                .contains("too many")
        );
        assert!(
            call("9999-12-31 + 1")
                .unwrap_err()
                .contains("outside 1 to 9999")
        );
        assert!(call("today").unwrap_err().contains("YYYY-MM-DD"));
    }
}
