//! The values a playbook's templates (`{{lead_name}}`, `{{location}}`…) are filled with.

use std::collections::HashMap;

use crate::store::Lead;

/// The values a playbook's text may use. An extra CSV column holding a phone number (an
/// alternate number, a WhatsApp number) is left out: templates reach the LLM's prompt.
pub fn of(lead: &Lead) -> HashMap<String, String> {
    let mut vars: HashMap<String, String> = lead
        .attributes
        .0
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| v.to_string()),
            )
        })
        .filter(|(_, v)| crate::domain::Phone::parse(v).is_err())
        .collect();
    vars.insert("lead_name".into(), lead.name.clone());
    vars.insert("name".into(), lead.name.clone());
    for (k, v) in [
        ("property_type", &lead.property_type),
        ("location", &lead.location),
        ("budget", &lead.budget),
        ("email", &lead.email),
    ] {
        vars.insert(k.into(), v.clone().unwrap_or_default());
    }
    vars
}
