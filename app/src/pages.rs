//! One module per page.

mod compare;
mod execution;
mod execution_list;

pub use compare::ComparePage;
pub use execution::ExecutionPage;
pub use execution_list::ExecutionListPage;
