//! One module per page.

mod compare;
mod execution;
mod execution_list;
mod stats;

pub use compare::ComparePage;
pub use execution::ExecutionPage;
pub use execution_list::ExecutionListPage;
pub use stats::StatsPage;
