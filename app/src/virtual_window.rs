//! Windowed rendering for long lists (a 100,000-event run): only the rows
//! near the scroll position exist in the DOM, with spacers standing in for
//! the rest, so opening, scrolling and zooming cost the same at any size.

use std::ops::Range;

/// Rows rendered above and below the visible ones, so fast scrolling does
/// not show blanks.
const OVERSCAN: usize = 20;
/// Rows a list's scroll box shows at most: the stylesheet caps the boxes at
/// 28rem (24px rows) and 36rem (33px rows), about 20 rows at the default
/// text size, with room here for larger text. Every rendered row is hydrated
/// when a page opens, so this is kept close to what is seen.
pub const INITIAL_ROWS: usize = 30;

/// The rows to render for a list of `total` rows of `row_px` each, scrolled
/// to `scroll_top`, in a viewport showing `viewport_rows` rows.
pub fn visible_range(scroll_top: f64, row_px: f64, viewport_rows: usize, total: usize) -> Range<usize> {
    let first_visible = (scroll_top.max(0.0) / row_px) as usize;
    let start = first_visible.saturating_sub(OVERSCAN).min(total);
    let end = (first_visible + viewport_rows + OVERSCAN).min(total);
    start..end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_list_renders_whole() {
        assert_eq!(visible_range(0.0, 22.0, 40, 12), 0..12);
    }

    #[test]
    fn a_long_list_renders_only_the_rows_around_the_scroll_position() {
        let r = visible_range(22.0 * 5_000.0, 22.0, 40, 100_000);
        assert_eq!(r, 4_980..5_060);
        assert_eq!(visible_range(1e12, 22.0, 40, 100), 100..100);
    }
}
