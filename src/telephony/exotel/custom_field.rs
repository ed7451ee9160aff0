//! The ids we give Exotel in `CustomField` (≤128 characters) so that its callbacks and the media
//! socket can find the lead: `c=<campaign>;l=<lead>;s=<scheduled call>;a=<attempt>`.

/// Which attempt of which lead a call is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallRef {
    pub campaign_id: i64,
    pub lead_id: i64,
    pub scheduled_call_id: i64,
    pub attempt: i64,
}

impl CallRef {
    pub fn encode(&self) -> String {
        format!(
            "c={};l={};s={};a={}",
            self.campaign_id, self.lead_id, self.scheduled_call_id, self.attempt
        )
    }

    /// Reads our own encoding back; Exotel sometimes HTML-escapes or URL-encodes it, and
    /// unknown keys are ignored.
    pub fn decode(raw: &str) -> Option<CallRef> {
        let raw = raw
            .replace("&amp;", "&")
            .replace("%3D", "=")
            .replace("%3B", ";");
        let mut fields = [None; 4];
        for part in raw.split([';', '&', ',']) {
            let Some((key, value)) = part.trim().split_once('=') else {
                continue;
            };
            let slot = match key {
                "c" => 0,
                "l" => 1,
                "s" => 2,
                "a" => 3,
                _ => continue,
            };
            fields[slot] = value.trim().parse::<i64>().ok();
        }
        Some(CallRef {
            campaign_id: fields[0]?,
            lead_id: fields[1]?,
            scheduled_call_id: fields[2]?,
            attempt: fields[3]?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tolerance() {
        let r = CallRef {
            campaign_id: 7,
            lead_id: 12345,
            scheduled_call_id: 99999,
            attempt: 3,
        };
        assert_eq!(CallRef::decode(&r.encode()), Some(r));
        assert!(r.encode().len() <= 128);
        assert_eq!(
            CallRef::decode("c%3D7%3Bl%3D12345%3Bs%3D99999%3Ba%3D3"),
            Some(r)
        );
        assert_eq!(CallRef::decode("order_12345"), None);
        assert_eq!(CallRef::decode("c=1;l=2;s=3"), None);
    }
}
