//! A small client of our own REST API, used the way an operator's script would use it: the
//! sandbox and the benchmarks drive the product through it rather than through internals.

use serde_json::Value;

pub struct Api {
    pub base: String,
    key: Option<String>,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str, key: Option<String>) -> Api {
        Api {
            base: base.to_string(),
            key,
            http: reqwest::Client::new(),
        }
    }

    fn auth(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.key {
            Some(k) => r.bearer_auth(k),
            None => r,
        }
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .auth(self.http.get(format!("{}{path}", self.base)))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// POSTs JSON; a non-2xx answer is an error carrying the API's error body.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .auth(self.http.post(format!("{}{path}", self.base)))
            .json(body)
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await?;
        if !status.is_success() {
            anyhow::bail!("{path}: {status} {v}");
        }
        Ok(v)
    }

    /// POSTs JSON and returns the status with the body, whatever the status (a caller that
    /// tells a missing endpoint from a refusal).
    pub async fn post_for_status(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .auth(self.http.post(format!("{}{path}", self.base)))
            .json(body)
            .send()
            .await?;
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        Ok((status, v))
    }

    /// Uploads a CSV as a `text/csv` body.
    pub async fn upload(&self, path: &str, csv: &str) -> anyhow::Result<Value> {
        let r = self
            .auth(self.http.post(format!("{}{path}", self.base)))
            .header("Content-Type", "text/csv")
            .body(csv.to_string())
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await?;
        if !status.is_success() {
            anyhow::bail!("{path}: {status} {v}");
        }
        Ok(v)
    }

    /// Creates a campaign, uploads its leads and starts it; returns the campaign's id.
    pub async fn launch(&self, campaign: &Value, csv: &str) -> anyhow::Result<(i64, Value)> {
        let created = self.post("/campaigns", campaign).await?;
        let id = created["id"].as_i64().unwrap_or_default();
        let upload = self
            .upload(&format!("/campaigns/{id}/upload-csv"), csv)
            .await?;
        self.post(&format!("/campaigns/{id}/start"), &serde_json::json!({}))
            .await?;
        Ok((id, upload))
    }
}
