//! Whether the human answered, from the terminal status callback's `Legs`
//! (`[{OnCallDuration, Status}]`): the fallback for a flow without the result Passthru.
//! Exotel does not document which leg is the human in a flow call; the first is the customer's,
//! so a later leg is taken for the Connect's. Never the first word: the result Passthru's
//! `CallType`/`DialCallStatus` settle a transfer first when the flow has it (settled once).

use std::collections::HashMap;

use super::result::TransferResult;

/// One leg of a call as the status callback reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leg {
    pub status: String,
    pub on_call_seconds: i64,
}

/// The Connect's leg read as a result: none when the callback has only the customer's leg.
pub fn human_leg_result(legs: &[Leg]) -> Option<TransferResult> {
    let connect = legs.get(1..).filter(|l| !l.is_empty())?;
    let talked = connect
        .iter()
        .any(|l| l.status.eq_ignore_ascii_case("completed") && l.on_call_seconds > 0);
    Some(if talked {
        TransferResult::Answered
    } else {
        TransferResult::Missed
    })
}

fn seconds(v: &serde_json::Value) -> i64 {
    match v {
        serde_json::Value::Number(n) => n.as_i64().unwrap_or(0),
        serde_json::Value::String(s) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// `Legs` of a JSON callback.
pub fn legs_from_json(body: &serde_json::Value) -> Vec<Leg> {
    body["Legs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| Leg {
            status: l["Status"].as_str().unwrap_or("").to_string(),
            on_call_seconds: seconds(&l["OnCallDuration"]),
        })
        .collect()
}

/// `Legs[i][Status]` / `Legs[i][OnCallDuration]` of a form callback.
pub fn legs_from_fields(fields: &HashMap<String, String>) -> Vec<Leg> {
    (0..8)
        .map_while(|i| {
            let status = fields.get(&format!("Legs[{i}][Status]"))?;
            let seconds = fields
                .get(&format!("Legs[{i}][OnCallDuration]"))
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0);
            Some(Leg {
                status: status.clone(),
                on_call_seconds: seconds,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_connect_leg_says_whether_the_human_answered() {
        let cases = [
            (
                json!({"Legs": [{"Status": "completed", "OnCallDuration": 60}]}),
                None,
            ),
            (json!({}), None),
            (
                json!({"Legs": [{"Status": "completed", "OnCallDuration": 60},
                                 {"Status": "completed", "OnCallDuration": 30}]}),
                Some(TransferResult::Answered),
            ),
            (
                json!({"Legs": [{"Status": "completed", "OnCallDuration": 60},
                                 {"Status": "no-answer", "OnCallDuration": 0}]}),
                Some(TransferResult::Missed),
            ),
            (
                json!({"Legs": [{"Status": "completed", "OnCallDuration": "60"},
                                 {"Status": "completed", "OnCallDuration": "0"}]}),
                Some(TransferResult::Missed),
            ),
        ];
        for (body, want) in cases {
            assert_eq!(human_leg_result(&legs_from_json(&body)), want, "{body}");
        }
        let form: HashMap<String, String> = [
            ("Legs[0][Status]", "completed"),
            ("Legs[0][OnCallDuration]", "60"),
            ("Legs[1][Status]", "busy"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            human_leg_result(&legs_from_fields(&form)),
            Some(TransferResult::Missed)
        );
    }
}
