//! One module per page.

mod execution;
mod execution_list;

pub use execution::ExecutionPage;
pub use execution_list::ExecutionListPage;
