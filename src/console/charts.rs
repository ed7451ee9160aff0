//! Bar charts as inline SVG, drawn on the server: no chart library, nothing fetched, readable
//! by screen readers (a title, a description and a label on every bar).

use maud::{html, Markup};

/// One bar: its label under the axis, its value, and the text shown on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub caption: String,
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 220.0;
const TOP: f64 = 20.0;
const BOTTOM: f64 = 40.0;
const LEFT: f64 = 10.0;
const MAX_BAR: f64 = 90.0;

/// Where each bar goes: (x, width, height), scaled so the tallest bar fills the plot.
pub fn layout(values: &[f64]) -> Vec<(f64, f64, f64)> {
    let plot = HEIGHT - TOP - BOTTOM;
    let max = values.iter().cloned().fold(0.0_f64, f64::max);
    let slot = (WIDTH - 2.0 * LEFT) / values.len().max(1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let h = if max > 0.0 {
                v.max(0.0) / max * plot
            } else {
                0.0
            };
            // A lone bar stays a bar, not a wall.
            let w = (slot * 0.7).min(MAX_BAR);
            (LEFT + i as f64 * slot + (slot - w) / 2.0, w, h)
        })
        .collect()
}

pub fn bar_chart(id: &str, title: &str, bars: &[Bar]) -> Markup {
    let placed = layout(&bars.iter().map(|b| b.value).collect::<Vec<_>>());
    let base = HEIGHT - BOTTOM;
    let title_id = format!("{id}-title");
    html! {
        figure {
            svg.chart #(id) viewBox={"0 0 " (WIDTH) " " (HEIGHT)} role="img"
                aria-labelledby=(title_id) {
                title #(title_id) { (title) }
                line x1=(LEFT) y1=(base) x2=(WIDTH - LEFT) y2=(base) stroke="#aab3c2" {}
                @for (bar, (x, w, h)) in bars.iter().zip(&placed) {
                    g {
                        title { (bar.label) ": " (bar.caption) }
                        rect.bar x=(fmt(*x)) y=(fmt(base - h)) width=(fmt(*w)) height=(fmt(*h)) {}
                        text x=(fmt(x + w / 2.0)) y=(fmt(base - h - 4.0)) text-anchor="middle" { (bar.caption) }
                        text x=(fmt(x + w / 2.0)) y=(fmt(base + 14.0)) text-anchor="middle" { (bar.label) }
                    }
                }
            }
            figcaption.muted { (title) }
        }
    }
}

/// One decimal is plenty for pixels and keeps the page small.
fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_tallest_and_share_the_width() {
        let placed = layout(&[1.0, 2.0, 0.0]);
        let plot = HEIGHT - TOP - BOTTOM;
        assert_eq!(placed.len(), 3);
        assert!((placed[1].2 - plot).abs() < 1e-9, "tallest fills the plot");
        assert!((placed[0].2 - plot / 2.0).abs() < 1e-9);
        assert_eq!(placed[2].2, 0.0);
        assert!(placed[0].0 < placed[1].0 && placed[1].0 < placed[2].0);
        assert!(placed[2].0 + placed[2].1 <= WIDTH - LEFT);
    }

    #[test]
    fn nothing_to_draw_draws_flat_bars() {
        assert_eq!(layout(&[0.0, 0.0])[0].2, 0.0);
        assert!(layout(&[]).is_empty());
    }

    #[test]
    fn labels_are_escaped() {
        let bar = Bar {
            label: "<script>".into(),
            value: 1.0,
            caption: "1".into(),
        };
        let svg = bar_chart("c", "t", &[bar]).into_string();
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script>"));
    }
}
