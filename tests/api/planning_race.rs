//! Planning never loses a lead imported while it runs: a lead is marked SCHEDULED only if the
//! planning statement gave it a call (on PostgreSQL an import can commit between the two).

use crate::both_backends;
use crate::helpers::{spawn_app, Backend};

async fn leads_imported_during_planning_are_planned_later_not_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let store = app.state.store.clone();
    let now = chrono::Utc::now();
    for round in 0..15 {
        let id = app.campaign_id().await;
        let mut csv = String::from("name,phone\n");
        for i in 0..300 {
            csv.push_str(&format!("Lead {i},+9191{round:02}{i:06}\n"));
        }
        let planner = async {
            let mut planned = 0;
            for _ in 0..40 {
                planned += store.schedule_new_leads(id, now, 3, now).await.unwrap();
                tokio::task::yield_now().await;
            }
            planned
        };
        let (planned, (status, report)) = tokio::join!(planner, app.upload_csv(id, &csv));
        assert_eq!(status, 200, "{report}");
        let after = store.schedule_new_leads(id, now, 3, now).await.unwrap();
        assert_eq!(planned + after, 300, "round {round}");
        // Every lead has its call: NEW leads (none left) plus pending calls.
        assert_eq!(
            store.open_work(id, now).await.unwrap(),
            300,
            "round {round}"
        );
    }
}

both_backends!(leads_imported_during_planning_are_planned_later_not_lost);
