//! A campaign's hand-off settings: where transfers go (`transfer_numbers`), in which order
//! (`transfer_strategy`) and when the human team takes them (`transfer_hours`).

use chrono::NaiveTime;
use serde::Serialize;

use crate::domain::Phone;

/// The numbers a campaign's transfers ring, in E.164; stored as a JSON array of strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct TransferNumbers(pub Vec<Phone>);

impl TransferNumbers {
    /// Each number normalised to E.164; the error names the one refused and why.
    pub fn parse(raw: &[String]) -> Result<TransferNumbers, String> {
        if raw.len() > 20 {
            return Err("transfer_numbers takes at most 20 numbers".into());
        }
        let mut numbers: Vec<Phone> = Vec::with_capacity(raw.len());
        for (i, n) in raw.iter().enumerate() {
            let phone = Phone::parse(n).map_err(|e| format!("transfer_numbers[{i}]: {e}"))?;
            if !numbers.contains(&phone) {
                numbers.push(phone);
            }
        }
        Ok(TransferNumbers(numbers))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The stored form: a JSON array of E.164 strings.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "[]".into())
    }
}

impl TryFrom<String> for TransferNumbers {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        let numbers: Vec<String> =
            serde_json::from_str(&raw).map_err(|e| format!("transfer_numbers is not JSON: {e}"))?;
        // Written by us from parsed numbers only.
        Ok(TransferNumbers(
            numbers.into_iter().map(Phone::from_trusted).collect(),
        ))
    }
}

/// Which of several numbers a transfer rings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStrategy {
    /// The first number not already on a transfer.
    #[default]
    InOrder,
    /// Each transfer starts one number further along the list.
    RoundRobin,
}

impl TransferStrategy {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStrategy::InOrder => "in_order",
            TransferStrategy::RoundRobin => "round_robin",
        }
    }

    pub fn parse(raw: &str) -> Option<TransferStrategy> {
        match raw {
            "in_order" => Some(TransferStrategy::InOrder),
            "round_robin" => Some(TransferStrategy::RoundRobin),
            _ => None,
        }
    }
}

impl TryFrom<String> for TransferStrategy {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        TransferStrategy::parse(&raw).ok_or_else(|| format!("unknown transfer_strategy {raw:?}"))
    }
}

/// The human team's working hours, `HH:MM-HH:MM` in the campaign's time zone; a start later
/// than the end crosses midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

impl TransferHours {
    pub fn parse(raw: &str) -> Result<TransferHours, String> {
        let bad = || format!("transfer_hours {raw:?} must be HH:MM-HH:MM (e.g. 10:00-19:00)");
        let (a, b) = raw.trim().split_once('-').ok_or_else(bad)?;
        let time = |t: &str| NaiveTime::parse_from_str(t.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (time(a)?, time(b)?);
        if start == end {
            return Err(format!(
                "transfer_hours {raw:?} is empty (start equals end)"
            ));
        }
        Ok(TransferHours { start, end })
    }

    /// Whether a local time of day is inside the hours (start included, end excluded).
    pub fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// The canonical stored form.
    pub fn canonical(&self) -> String {
        format!(
            "{}-{}",
            self.start.format("%H:%M"),
            self.end.format("%H:%M")
        )
    }
}

impl std::fmt::Display for TransferHours {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    /// (text, parsed start and end hours, probes of (hour, minute) → inside).
    type HoursCase = (
        &'static str,
        Option<(u32, u32)>,
        &'static [((u32, u32), bool)],
    );

    #[test]
    fn hours_read_and_contain() {
        let cases: &[HoursCase] = &[
            (
                "10:00-19:00",
                Some((10, 19)),
                &[
                    ((9, 59), false),
                    ((10, 0), true),
                    ((18, 59), true),
                    ((19, 0), false),
                ],
            ),
            (
                " 22:00 - 02:00 ",
                Some((22, 2)),
                &[
                    ((23, 0), true),
                    ((1, 59), true),
                    ((2, 0), false),
                    ((12, 0), false),
                ],
            ),
            ("10-19", None, &[]),
            ("10:00-10:00", None, &[]),
            ("25:00-26:00", None, &[]),
            ("", None, &[]),
        ];
        for (raw, parsed, probes) in cases {
            let hours = TransferHours::parse(raw);
            match parsed {
                None => assert!(hours.is_err(), "{raw}"),
                Some((s, e)) => {
                    let hours = hours.unwrap();
                    assert_eq!((hours.start, hours.end), (at(*s, 0), at(*e, 0)), "{raw}");
                    for ((h, m), inside) in *probes {
                        assert_eq!(hours.contains(at(*h, *m)), *inside, "{raw} at {h}:{m}");
                    }
                }
            }
        }
        assert_eq!(
            TransferHours::parse("9:30-18:00").unwrap().canonical(),
            "09:30-18:00"
        );
    }

    #[test]
    fn numbers_are_e164_and_named_when_refused() {
        let ok = TransferNumbers::parse(&[
            "09812345678".into(),
            "+91 98123 45678".into(),
            "+14155550100".into(),
        ])
        .unwrap();
        assert_eq!(ok.to_json(), r#"["+919812345678","+14155550100"]"#);
        let err = TransferNumbers::parse(&["+919812345678".into(), "12".into()]).unwrap_err();
        assert!(err.starts_with("transfer_numbers[1]"), "{err}");
        assert_eq!(TransferNumbers::try_from(ok.to_json()).unwrap(), ok);
    }

    #[test]
    fn strategies_read_back() {
        for s in [TransferStrategy::InOrder, TransferStrategy::RoundRobin] {
            assert_eq!(TransferStrategy::parse(s.as_str()), Some(s));
        }
        assert_eq!(TransferStrategy::parse("random"), None);
    }
}
